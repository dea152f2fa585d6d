import type { FieldError } from '../api/client';
import type { Translate } from '../i18n/context';
import { isMessageKey } from '../i18n/messages';

export interface TemplateLimits {
  subject: number;
  text: number;
  /** The placeholders, as written: `{nama}, {referensi}, ...`. */
  placeholders: string;
}

/**
 * A template field's error in the operator's language, from the server's kind of problem
 * (`value_error.placeholder_required`); the placeholder it names is read from its message.
 * Kinds this app does not know keep the server's words.
 */
export function templateErrorMessage(error: FieldError, t: Translate, limits: TemplateLimits): string {
  const key = `mailTemplate.err.${error.type.replace(/^value_error\./, '')}`;
  if (!isMessageKey(key)) return error.message;
  const token = /\{[^{}\n]*\}/.exec(error.message)?.[0] ?? '';
  const max = error.path.endsWith('.subject') ? limits.subject : limits.text;
  return t(key, { token, max, list: limits.placeholders });
}

/** Each field's first error, by path (`id.instructions`), in the operator's language. */
export function errorsByPath(errors: FieldError[], t: Translate, limits: TemplateLimits): Record<string, string> {
  const out: Record<string, string> = {};
  for (const error of errors) {
    if (error.path && !(error.path in out)) out[error.path] = templateErrorMessage(error, t, limits);
  }
  return out;
}
