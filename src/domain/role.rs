//! Roles and what each may do, as configuration (issue 8): a deployment names its own roles
//! (seed 004: `user`, `moderator`, `admin`; seed 002: `analyst`, `reviewer`) without a code
//! change. The role is the `role` claim of every access token; permissions are what gatehouse's
//! own admin API checks and what other services may look up.
//!
//! Settings (read by [`crate::config`]):
//! - `ROLES`: comma-separated role names, default `user,moderator,admin`.
//! - `DEFAULT_ROLE`: the role of a newly registered user; default the first of `ROLES`.
//! - `ROLE_PERMISSIONS`: `role=perm,perm;role=perm`. Unset, it is
//!   [`DEFAULT_ROLE_PERMISSIONS`], applied to those of its roles that `ROLES` declares (so a
//!   custom role set starts with no permissions). A role left out has none.
//!
//! Names are lower-case so that `Admin` and `admin` cannot be two roles, and short so they fit
//! a token. Permissions are free-form `resource:action` names; gatehouse's admin API documents
//! the ones it checks (`users:read`, `users:write`, `audit:read`).

use std::collections::BTreeSet;
use std::fmt;

const MAX_NAME: usize = 32;
const MAX_PERMISSION: usize = 64;

/// The built-in permissions of seed 004's roles.
pub const DEFAULT_ROLE_PERMISSIONS: &str = "admin=users:read,users:write,audit:read;moderator=users:read,audit:read";
pub const DEFAULT_ROLES: &str = "user,moderator,admin";

/// A role name: 1–32 of `a-z 0-9 _ -`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoleName(String);

impl RoleName {
    pub fn parse(raw: &str) -> Result<RoleName, String> {
        let name = raw.trim();
        let ok = !name.is_empty()
            && name.len() <= MAX_NAME
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if ok {
            Ok(RoleName(name.to_string()))
        } else {
            Err(format!(
                "{name:?} is not a role name (1-{MAX_NAME} of a-z 0-9 _ -, starting with a lower-case letter)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A permission name such as `users:read`: 1–64 of `a-z 0-9 _ - . :`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permission(String);

impl Permission {
    pub fn parse(raw: &str) -> Result<Permission, String> {
        let p = raw.trim();
        let ok = !p.is_empty()
            && p.len() <= MAX_PERMISSION
            && p.starts_with(|c: char| c.is_ascii_lowercase())
            && !p.ends_with(':')
            && !p.contains("::")
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.' | ':'));
        if ok {
            Ok(Permission(p.to_string()))
        } else {
            Err(format!(
                "{p:?} is not a permission name (such as users:read: 1-{MAX_PERMISSION} of a-z 0-9 _ - . :)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleDef {
    pub name: RoleName,
    pub permissions: BTreeSet<Permission>,
}

/// The configured roles: at least one, no duplicates, one of them the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roles {
    roles: Vec<RoleDef>,
    default: usize,
}

impl Default for Roles {
    fn default() -> Self {
        Roles::from_settings(None, None, None).unwrap_or_else(|_| unreachable!("the built-in role settings are valid"))
    }
}

impl Roles {
    /// Builds the role set from the three settings (`None` = unset). Errors name the setting
    /// and say what is expected; every problem is reported, not just the first.
    pub fn from_settings(
        roles: Option<&str>,
        permissions: Option<&str>,
        default_role: Option<&str>,
    ) -> Result<Roles, Vec<String>> {
        let mut problems = Vec::new();
        let mut defs: Vec<RoleDef> = Vec::new();
        for raw in roles.unwrap_or(DEFAULT_ROLES).split(',') {
            match RoleName::parse(raw) {
                Ok(name) if defs.iter().any(|d| d.name == name) => {
                    problems.push(format!("ROLES names {name} twice"));
                }
                Ok(name) => defs.push(RoleDef {
                    name,
                    permissions: BTreeSet::new(),
                }),
                Err(e) => problems.push(format!("ROLES must be a comma-separated list of role names: {e}")),
            }
        }
        if defs.is_empty() && problems.is_empty() {
            problems.push("ROLES must name at least one role".into());
        }

        // Unset: the built-in map, for those of its roles that ROLES declares.
        let explicit = permissions.is_some();
        for entry in permissions
            .unwrap_or(DEFAULT_ROLE_PERMISSIONS)
            .split(';')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let Some((role, perms)) = entry.split_once('=') else {
                problems.push(format!(
                    "ROLE_PERMISSIONS must be role=permission,permission;role=...: {entry:?} has no ="
                ));
                continue;
            };
            let role = match RoleName::parse(role) {
                Ok(r) => r,
                Err(e) => {
                    problems.push(format!("ROLE_PERMISSIONS: {e}"));
                    continue;
                }
            };
            let Some(def) = defs.iter_mut().find(|d| d.name == role) else {
                if explicit {
                    problems.push(format!(
                        "ROLE_PERMISSIONS gives permissions to {role}, which ROLES does not declare"
                    ));
                }
                continue;
            };
            if !def.permissions.is_empty() {
                problems.push(format!("ROLE_PERMISSIONS lists {role} twice"));
                continue;
            }
            for p in perms.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                match Permission::parse(p) {
                    Ok(p) => {
                        def.permissions.insert(p);
                    }
                    Err(e) => problems.push(format!("ROLE_PERMISSIONS ({role}): {e}")),
                }
            }
        }

        let default = match default_role {
            None => Some(0),
            Some(raw) => {
                let found = RoleName::parse(raw)
                    .ok()
                    .and_then(|n| defs.iter().position(|d| d.name == n));
                if found.is_none() {
                    let names: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
                    problems.push(format!(
                        "DEFAULT_ROLE must be one of the roles in ROLES ({}), not {:?}",
                        names.join(", "),
                        raw.trim()
                    ));
                }
                found
            }
        };
        match default {
            Some(default) if problems.is_empty() => Ok(Roles { roles: defs, default }),
            _ => Err(problems),
        }
    }

    /// The role a newly registered user gets.
    pub fn default_role(&self) -> &RoleName {
        // `default` is an index into `roles`, checked when the set was built.
        &self.roles[self.default].name
    }

    pub fn iter(&self) -> impl Iterator<Item = &RoleDef> {
        self.roles.iter()
    }

    pub fn get(&self, role: &str) -> Option<&RoleDef> {
        self.roles.iter().find(|d| d.name.as_str() == role)
    }

    pub fn contains(&self, role: &str) -> bool {
        self.get(role).is_some()
    }

    /// Whether `role` has `permission`. An undeclared role (say, left in the database after
    /// `ROLES` changed) has none.
    pub fn allows(&self, role: &str, permission: &str) -> bool {
        self.get(role)
            .is_some_and(|d| d.permissions.iter().any(|p| p.as_str() == permission))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn names(r: &Roles) -> Vec<&str> {
        r.iter().map(|d| d.name.as_str()).collect()
    }

    #[test]
    fn defaults_are_seed_004s_roles() {
        let r = Roles::default();
        assert_eq!(names(&r), ["user", "moderator", "admin"]);
        assert_eq!(r.default_role().as_str(), "user");
        assert!(r.allows("admin", "users:write"));
        assert!(r.allows("moderator", "audit:read"));
        assert!(!r.allows("moderator", "users:write"));
        assert!(!r.allows("user", "users:read"));
        assert!(!r.allows("stranger", "users:read"));
    }

    #[test]
    fn a_custom_set_needs_no_code() {
        let r = Roles::from_settings(
            Some(" analyst , reviewer "),
            Some("analyst=drafts:write; reviewer=drafts:write,drafts:commit"),
            None,
        )
        .unwrap();
        assert_eq!(names(&r), ["analyst", "reviewer"]);
        assert_eq!(r.default_role().as_str(), "analyst");
        assert!(r.allows("reviewer", "drafts:commit"));
        assert!(!r.allows("analyst", "drafts:commit"));
        // Without ROLE_PERMISSIONS a custom set starts with none (the built-in map's roles are absent).
        let bare = Roles::from_settings(Some("analyst,reviewer,admin"), None, Some("reviewer")).unwrap();
        assert_eq!(bare.default_role().as_str(), "reviewer");
        assert!(!bare.allows("analyst", "users:read"));
        assert!(
            bare.allows("admin", "users:read"),
            "a declared built-in role keeps its defaults"
        );
    }

    #[test]
    fn every_problem_names_its_setting() {
        let errs = |r: Option<&str>, p: Option<&str>, d: Option<&str>| Roles::from_settings(r, p, d).unwrap_err();
        for (e, var) in [
            (errs(Some("Admin,user"), None, None), "ROLES"),
            (errs(Some("user,,admin"), None, None), "ROLES"),
            (errs(Some("user,user"), None, None), "ROLES"),
            (errs(Some(" "), None, None), "ROLES"),
            (errs(Some("user"), Some("admin=users:read"), None), "ROLE_PERMISSIONS"),
            (errs(Some("user"), Some("user users:read"), None), "ROLE_PERMISSIONS"),
            (errs(Some("user"), Some("user=Users Read"), None), "ROLE_PERMISSIONS"),
            (errs(Some("user"), Some("user=a;user=b"), None), "ROLE_PERMISSIONS"),
            (errs(Some("user,admin"), None, Some("root")), "DEFAULT_ROLE"),
        ] {
            assert!(e.iter().all(|m| m.starts_with(var)), "{e:?} should name {var}");
        }
        let all = errs(Some("user,Bad"), Some("user=x y"), Some("nobody"));
        assert_eq!(all.len(), 3, "{all:?}");
    }

    #[test]
    fn names_and_permissions_parse() {
        for good in ["user", "analyst", "a", "team-lead", "level_2"] {
            assert!(RoleName::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "Admin", "2nd", "_x", "with space", "ünï", &"a".repeat(33)] {
            assert!(RoleName::parse(bad).is_err(), "{bad}");
        }
        for good in ["users:read", "audit:read", "drafts.commit", "reports:q1-2025:read"] {
            assert!(Permission::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Users:read",
            "users:",
            "users::read",
            ":read",
            "users read",
            "users:*",
        ] {
            assert!(Permission::parse(bad).is_err(), "{bad}");
        }
    }
}
