import type { Translate } from '../i18n/context';
import { isMessageKey } from '../i18n/messages';

export function eventLabel(type: string, t: Translate): string {
  const key = `event.${type}`;
  return isMessageKey(key) ? t(key) : t('event.unknown', { type });
}

/** `system` and the known service actors translated; operators' names as they are. */
export function actorLabel(actor: string, t: Translate): string {
  const key = `actor.${actor}`;
  return isMessageKey(key) ? t(key) : actor;
}
