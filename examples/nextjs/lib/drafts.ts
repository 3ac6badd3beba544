// The example's own data: drafts kept in this server process's memory (a real app would use
// its database). Analysts and reviewers save drafts; only reviewers commit them.

export interface Draft {
  id: string;
  title: string;
  body: string;
  author: string; // the token's `sub`
  authorRole: string;
  status: 'draft' | 'committed';
  savedAt: string;
  committedBy?: string;
  committedAt?: string;
}

const store = ((globalThis as { __drafts?: Map<string, Draft> }).__drafts ??= new Map<string, Draft>());

export function listDrafts(): Draft[] {
  return [...store.values()].sort((a, b) => b.savedAt.localeCompare(a.savedAt));
}

export function saveDraft(d: Omit<Draft, 'id' | 'status' | 'savedAt'>): Draft {
  const draft: Draft = { ...d, id: crypto.randomUUID(), status: 'draft', savedAt: new Date().toISOString() };
  store.set(draft.id, draft);
  return draft;
}

export function getDraft(id: string): Draft | undefined {
  return store.get(id);
}

export function commitDraft(id: string, by: string): Draft | undefined {
  const d = store.get(id);
  if (!d) return undefined;
  if (d.status === 'draft') {
    d.status = 'committed';
    d.committedBy = by;
    d.committedAt = new Date().toISOString();
  }
  return d;
}
