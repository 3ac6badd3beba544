// POST /api/drafts/commit {id} — needs `drafts:commit` (reviewers only). The UI may show the
// button to anyone: this check is the one that counts.
import { authorize, problem } from '@/lib/verify';
import { commitDraft, getDraft } from '@/lib/drafts';

export const dynamic = 'force-dynamic';

export async function POST(req: Request) {
  const { claims, denied } = await authorize(req, 'drafts:commit');
  if (denied) return denied;
  let body: { id?: unknown };
  try {
    body = await req.json();
  } catch {
    return problem(400, 'malformed_json', 'The body must be JSON: {"id": "…"}.');
  }
  const id = typeof body.id === 'string' ? body.id : '';
  if (!getDraft(id)) return problem(404, 'draft_not_found', 'No draft has this id.');
  return Response.json(commitDraft(id, claims.sub));
}
