//! The admin API's user management: who may use it, listing and viewing users, lock and
//! unlock, role changes, ending sessions.

use crate::admin_support::*;
use crate::both;
use crate::common::*;
use gatehouse::domain::Roles;
use serde_json::{json, Value};

/// Every admin route, as (method, path) for a target user.
fn routes(target: uuid::Uuid) -> Vec<(&'static str, String)> {
    vec![
        ("GET", "/api/admin/users".into()),
        ("GET", format!("/api/admin/users/{target}")),
        ("GET", "/api/admin/audit".into()),
        ("POST", format!("/api/admin/users/{target}/lock")),
        ("POST", format!("/api/admin/users/{target}/unlock")),
        ("PUT", format!("/api/admin/users/{target}/role")),
        ("DELETE", format!("/api/admin/users/{target}/sessions")),
    ]
}

async fn call(app: &TestApp, method: &str, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = match method {
        "GET" => app.client.get(app.url(path)),
        "POST" => app.client.post(app.url(path)),
        "PUT" => app.client.put(app.url(path)).json(&json!({ "role": "user" })),
        _ => app.client.delete(app.url(path)),
    };
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    app.send(request).await
}

async fn permissions_decide_who_may_do_what(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = account(&app, "user@example.com", None).await;
    let moderator = account(&app, "moderator@example.com", Some("moderator")).await;
    let admin = account(&app, "admin@example.com", Some("admin")).await;
    let target = account(&app, "target@example.com", None).await;
    for (method, path) in routes(target.id) {
        expect_problem(call(&app, method, &path, None).await, 401, "missing_token").await;
        expect_problem(
            call(&app, method, &path, Some(&user.tokens.access)).await,
            403,
            "permission_denied",
        )
        .await;
        let by_moderator = call(&app, method, &path, Some(&moderator.tokens.access)).await;
        if method == "GET" {
            assert_eq!(by_moderator.status(), 200, "moderator {method} {path}");
        } else {
            expect_problem(by_moderator, 403, "permission_denied").await;
        }
    }
    // The admin may do all of it (ending the target's sessions last, as the role change does).
    for (method, path) in routes(target.id) {
        let r = call(&app, method, &path, Some(&admin.tokens.access)).await;
        assert_eq!(r.status(), 200, "admin {method} {path}: {}", r.text().await.unwrap());
    }
}

async fn a_custom_role_set_uses_the_permissions_not_the_names(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| {
        c.roles = Roles::from_settings(
            Some("analyst,reviewer,auditor"),
            Some("reviewer=users:read,users:write;auditor=audit:read"),
            None,
        )
        .unwrap();
    })
    .await;
    let reviewer = account(&app, "reviewer@example.com", Some("reviewer")).await;
    let auditor = account(&app, "auditor@example.com", Some("auditor")).await;
    let analyst = account(&app, "analyst@example.com", None).await;
    let r = admin_get(&app, "/api/admin/users", &reviewer.tokens.access).await;
    assert_eq!(r.status(), 200);
    expect_problem(
        admin_get(&app, "/api/admin/audit", &reviewer.tokens.access).await,
        403,
        "permission_denied",
    )
    .await;
    assert_eq!(
        admin_get(&app, "/api/admin/audit", &auditor.tokens.access)
            .await
            .status(),
        200
    );
    expect_problem(
        admin_get(&app, "/api/admin/users", &auditor.tokens.access).await,
        403,
        "permission_denied",
    )
    .await;
    let r = put_role(&app, analyst.id, &reviewer.tokens.access, &json!({ "role": "auditor" })).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["role"], "auditor");
    // `admin` is not a role of this deployment.
    let body = expect_problem(
        put_role(&app, analyst.id, &reviewer.tokens.access, &json!({ "role": "admin" })).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(field_errors(&body), [("role".to_string(), "unknown_role".to_string())]);
}

async fn users_are_listed_in_pages_searched_and_filtered(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = account(&app, "boss@example.com", Some("admin")).await;
    for email in ["amina@example.com", "karim@example.org", "nadia@example.com"] {
        app.advance(chrono::Duration::seconds(1));
        app.register_verified(email).await;
    }
    let token = &admin.tokens.access;
    let app_ref = &app;
    let list = |query: &'static str| async move {
        let r = admin_get(app_ref, &format!("/api/admin/users{query}"), token).await;
        assert_eq!(r.status(), 200, "{query}");
        r.json::<Value>().await.unwrap()
    };
    let emails = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_string())
            .collect()
    };
    let first = list("?per_page=2").await;
    assert_eq!(first["total"], 4);
    assert_eq!(first["total_pages"], 2);
    assert_eq!((first["page"].clone(), first["per_page"].clone()), (json!(1), json!(2)));
    let second = list("?per_page=2&page=2").await;
    let mut all = emails(&first);
    all.extend(emails(&second));
    // Newest first, every user exactly once across the pages.
    assert_eq!(
        all,
        [
            "nadia@example.com",
            "karim@example.org",
            "amina@example.com",
            "boss@example.com"
        ]
    );
    assert_eq!(emails(&list("?page=3&per_page=2").await), Vec::<String>::new());
    // Case-insensitive substring of the email, the username or the name.
    assert_eq!(emails(&list("?q=KARIM").await), ["karim@example.org"]);
    assert_eq!(emails(&list("?q=example.org").await), ["karim@example.org"]);
    assert_eq!(
        list("?q=rahim%20udd").await["total"],
        4,
        "registration() names everyone Rahim Uddin"
    );
    assert_eq!(list("?q=%25").await["total"], 0, "a typed % is not a wildcard");
    assert_eq!(emails(&list("?role=admin").await), ["boss@example.com"]);
    assert_eq!(list("?role=user&status=active").await["total"], 3);
    assert_eq!(list("?status=disabled").await["total"], 0);
    // Nothing secret in the listing.
    let text = list("").await.to_string();
    assert!(!text.contains("argon2") && !text.contains("password"), "{text}");
}

async fn bad_query_values_get_one_entry_each(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = account(&app, "boss@example.com", Some("admin")).await;
    let r = admin_get(
        &app,
        "/api/admin/users?page=0&per_page=1000&status=banned&role=Not%20A%20Role&sort=email&q=a&q=b",
        &admin.tokens.access,
    )
    .await;
    let body = expect_problem(r, 422, "validation_failed").await;
    let mut fields: Vec<String> = field_errors(&body).into_iter().map(|(f, _)| f).collect();
    fields.sort();
    assert_eq!(fields, ["page", "per_page", "q", "role", "sort", "status"], "{body}");
}

async fn a_user_is_shown_with_status_and_activity(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = account(&app, "boss@example.com", Some("moderator")).await;
    let target = account(&app, "rahim@example.com", None).await;
    app.login(&target.email, PASSWORD).await;
    let r = admin_get(&app, &format!("/api/admin/users/{}", target.id), &admin.tokens.access).await;
    assert_eq!(r.status(), 200);
    let user: Value = r.json().await.unwrap();
    assert_eq!(user["id"], target.id.to_string());
    assert_eq!(user["email"], "rahim@example.com");
    assert_eq!(user["status"], "active");
    assert_eq!(user["role"], "user");
    assert_eq!(user["email_verified"], true);
    assert_eq!(user["mfa_enabled"], false);
    assert_eq!(user["live_sessions"], 2);
    assert_eq!(user["linked_identities"], 0);
    assert_eq!(user["passkeys"], 0);
    assert!(
        user["last_login"].is_string() && user["created_at"].is_string(),
        "{user}"
    );
    assert!(user.get("password_hash").is_none(), "{user}");
    assert!(!user.to_string().contains("argon2"));

    let unknown = uuid::Uuid::new_v4();
    expect_problem(
        admin_get(&app, &format!("/api/admin/users/{unknown}"), &admin.tokens.access).await,
        404,
        "user_not_found",
    )
    .await;
    let body = expect_problem(
        admin_get(&app, "/api/admin/users/not-a-uuid", &admin.tokens.access).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(field_errors(&body), [("id".to_string(), "invalid_format".to_string())]);
}

both!(
    permissions_decide_who_may_do_what,
    a_custom_role_set_uses_the_permissions_not_the_names,
    users_are_listed_in_pages_searched_and_filtered,
    bad_query_values_get_one_entry_each,
    a_user_is_shown_with_status_and_activity,
);
