// gatehouse is served under this app's own origin, so its cookies are first-party
// (SameSite=Strict works, and document.cookie can read gatehouse_csrf).
// gatehouse's PUBLIC_URL must be this app's origin (APP_URL).
const gatehouse = (process.env.GATEHOUSE_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');

/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  async rewrites() {
    return [
      // gatehouse's JSON API: login, refresh, logout, me, MFA, sessions, …
      { source: '/api/auth/:path*', destination: `${gatehouse}/api/auth/:path*` },
      // the public keys that verify access tokens (the example's own API routes fetch them
      // from GATEHOUSE_URL directly; this is for anyone who wants them from the app's origin)
      { source: '/.well-known/:path*', destination: `${gatehouse}/.well-known/:path*` },
      // gatehouse's own pages that mails link to (links are built from PUBLIC_URL = this app)
      { source: '/reset-password', destination: `${gatehouse}/reset-password` },
      { source: '/unlock-account', destination: `${gatehouse}/unlock-account` },
      { source: '/confirm-email-change', destination: `${gatehouse}/confirm-email-change` },
    ];
  },
};

export default nextConfig;
