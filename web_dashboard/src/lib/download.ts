/**
 * Hands a file the app fetched to the browser's downloads. The access export is fetched rather
 * than linked so that "nothing held" (404) is said on the page instead of opening an error.
 */

/** How long the object URL stays valid: the browser reads it after the click returns. */
const REVOKE_AFTER_MS = 30_000;

export function saveFile(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), REVOKE_AFTER_MS);
}
