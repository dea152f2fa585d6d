/**
 * The verification mail's template as dashboard-api answers it (`/dashboard/mail-template*`,
 * admins only): the generated types of services/dashboard-api/openapi.json.
 */
import type { components, operations } from './openapi.gen';

type JsonBody<R> = R extends { content: { 'application/json': infer B } } ? B : never;

/** Both languages' parts; the mail carries Indonesian first, then English. */
export type MailTemplate = components['schemas']['MailTemplate'];
export type MailText = components['schemas']['MailText'];
export type MailLanguage = keyof MailTemplate;
export type MailPart = keyof MailText;

export const MAIL_LANGUAGES: readonly MailLanguage[] = ['id', 'en'];
export const MAIL_PARTS: readonly MailPart[] = ['subject', 'greeting', 'instructions', 'footer'];

export type CurrentMailTemplate = JsonBody<operations['getMailTemplate']['responses'][200]>;
export type SavedMailTemplate = JsonBody<operations['saveMailTemplate']['responses'][202]>;
export type MailPreview = JsonBody<operations['previewMailTemplate']['responses'][200]>;
export type MailTemplateChange = JsonBody<operations['mailTemplateHistory']['responses'][200]>[number];

/** A field's path as the server names it in errors and history: `id.instructions`. */
export function fieldPath(language: MailLanguage, part: MailPart): string {
  return `${language}.${part}`;
}
