import Link from 'next/link';

export default function Home() {
  return (
    <section className="card">
      <h1>Drafts</h1>
      <p>
        A small Next.js app that signs its users in through <strong>gatehouse</strong>: sign-in with
        an email or username and password, a second step for accounts with an authenticator app,
        a session that renews itself, and roles — analysts save drafts, reviewers commit them.
      </p>
      <p className="actions">
        <Link className="button" href="/login">
          Sign in
        </Link>
        <Link className="button secondary" href="/register">
          Create an account
        </Link>
      </p>
    </section>
  );
}
