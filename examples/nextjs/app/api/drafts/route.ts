// GET  /api/drafts  — any signed-in user: the drafts
// POST /api/drafts  — needs `drafts:write` (analysts and reviewers): save a draft
import { authorize, problem } from '@/lib/verify';
import { listDrafts, saveDraft } from '@/lib/drafts';

export const dynamic = 'force-dynamic';

export async function GET(req: Request) {
  const { claims, denied } = await authorize(req);
  if (denied) return denied;
  return Response.json({ items: listDrafts(), role: claims.role });
}

export async function POST(req: Request) {
  const { claims, denied } = await authorize(req, 'drafts:write');
  if (denied) return denied;
  let body: { title?: unknown; body?: unknown };
  try {
    body = await req.json();
  } catch {
    return problem(400, 'malformed_json', 'The body must be JSON: {"title": "…", "body": "…"}.');
  }
  const title = typeof body.title === 'string' ? body.title.trim() : '';
  const text = typeof body.body === 'string' ? body.body : '';
  if (!title || title.length > 200) {
    return problem(422, 'validation_failed', 'title: give the draft a title (at most 200 characters)');
  }
  const draft = saveDraft({ title, body: text.slice(0, 10_000), author: claims.sub, authorRole: claims.role });
  return Response.json(draft, { status: 201 });
}
