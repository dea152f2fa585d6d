/** A copy of `set` without `key` (for state that must not be changed in place). */
export function withoutKey<T>(set: ReadonlySet<T>, key: T): Set<T> {
  const next = new Set(set);
  next.delete(key);
  return next;
}
