import { invalidArgument } from '../internal/errors.js';

const tokenPattern = /^[^\s.*>]+$/;

/** True when `s` is a subject one can publish to: dot-separated tokens, no spaces, no wildcards. */
export function isPublishSubject(s: unknown): s is string {
  return typeof s === 'string' && s !== '' && s.split('.').every((t) => tokenPattern.test(t));
}

/** A subject prefix (publishable tokens), or an `ERR_REFLEX_INVALID_ARGUMENT` naming `what`. */
export function checkPrefix(prefix: unknown, what: string): string {
  if (!isPublishSubject(prefix)) {
    throw invalidArgument(`${what} must be dot-separated tokens without spaces or wildcards`);
  }
  return prefix;
}

/** A filter subject: tokens that may be `*`, a last token that may be `>`. */
export function checkFilterSubject(filter: unknown, what: string): string {
  if (typeof filter !== 'string' || filter === '') {
    throw invalidArgument(`${what} must be a non-empty subject`);
  }
  const tokens = filter.split('.');
  tokens.forEach((t, i) => {
    const ok = tokenPattern.test(t) || t === '*' || (t === '>' && i === tokens.length - 1);
    if (!ok) throw invalidArgument(`${what} ${JSON.stringify(filter)} is not a valid subject`);
  });
  return filter;
}

/** True when the literal `subject` matches the pattern (NATS wildcards `*` and a final `>`). */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const t = p[i];
    if (t === '>') return s.length > i;
    if (i >= s.length) return false;
    if (t !== '*' && t !== s[i]) return false;
  }
  return p.length === s.length;
}
