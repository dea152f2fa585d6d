/**
 * What the browser tests need from the running system: its addresses (from `browser-stack`),
 * the bridge and the verify endpoint as n8n calls them, the mails the SMTP server received,
 * and a Chromium to drive.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

export interface Stack {
  dashboard: string;
  intake: string;
  appsKey: string;
  admin: { username: string; password: string };
  loginRateLimit: number;
  maildir: string;
  artifacts: string;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run the browser tests through the stack runner ` +
        '(make test, or: cargo run -p gadai-e2e --bin browser-stack -- npm --prefix web_dashboard run test:e2e)',
    );
  }
  return value;
}

export function stack(): Stack {
  return {
    dashboard: required('GADAI_E2E_DASHBOARD_URL'),
    intake: required('GADAI_E2E_INTAKE_URL'),
    appsKey: required('GADAI_E2E_APPS_KEY'),
    admin: {
      username: required('GADAI_E2E_ADMIN_USERNAME'),
      password: required('GADAI_E2E_ADMIN_PASSWORD'),
    },
    loginRateLimit: Number(required('GADAI_E2E_LOGIN_RATE_LIMIT')),
    maildir: required('GADAI_E2E_MAILDIR'),
    artifacts: required('GADAI_E2E_ARTIFACTS'),
  };
}

/** Debian's Chromium, headless, with the flags this machine needs (a fresh profile per launch). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** A full-page screenshot kept as a CI artifact: `<artifacts>/screenshots/<name>.png`. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = join(stack().artifacts, 'screenshots');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  return path;
}

/** A screenshot of one element (a panel), kept like {@link screenshot}'s. */
export async function screenshotOf(element: Locator, name: string): Promise<string> {
  const dir = join(stack().artifacts, 'screenshots');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await element.screenshot({ path, animations: 'disabled' });
  return path;
}

export interface NewOrder {
  nama_customer: string;
  email: string;
  nama_barang: string;
  jenis_barang: string;
  jumlah_barang: number;
  estimasi_nilai_barang: number;
  wilayah: string;
}

/** Posts orders to the bridge as n8n does; returns their ids. */
export async function postOrders(orders: NewOrder[]): Promise<string[]> {
  const s = stack();
  const response = await fetch(`${s.intake}/api/insert-orders`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-API-Key': s.appsKey,
      'Idempotency-Key': randomUUID(),
    },
    body: JSON.stringify(orders.length === 1 ? orders[0] : orders),
  });
  if (response.status !== 201) {
    throw new Error(`bridge answered ${response.status}: ${await response.text()}`);
  }
  const body = (await response.json()) as { order_ids: string[] };
  return body.order_ids;
}

/**
 * Hands a code back as the agent does (`POST /dashboard/verify` with the API key), with the
 * order reference printed in the mail.
 */
export async function verifyCode(code: string, referensi: string): Promise<Response> {
  const s = stack();
  return fetch(`${s.dashboard}/dashboard/verify`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-API-Key': s.appsKey },
    body: JSON.stringify({ kode_unik: code, referensi }),
  });
}

export interface NewHandoff {
  id_percakapan: string;
  nama_customer: string;
  email: string;
  referensi?: string;
  ringkasan: string;
}

/** Hands a conversation to an officer as the agent does (`POST /dashboard/customer/handoff`). */
export async function postHandoff(handoff: NewHandoff): Promise<Response> {
  const s = stack();
  return fetch(`${s.dashboard}/dashboard/customer/handoff`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-API-Key': s.appsKey },
    body: JSON.stringify(handoff),
  });
}

/** Polls `check` until it returns a value, or throws after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The plain-text part of every message delivered to `to`, oldest first. */
export function mailsTo(to: string): string[] {
  return deliveredTo(to).map(plainText);
}

/** The decoded HTML part of every message delivered to `to`, oldest first. */
export function htmlMailsTo(to: string): string[] {
  return deliveredTo(to).map((raw) => {
    const html = mimeParts(raw).find((p) => /^content-type:\s*text\/html/im.test(p.headers));
    return html ? decodeBody(html) : '';
  });
}

/** Every raw message delivered to `to`, oldest first. */
function deliveredTo(to: string): string[] {
  const dir = join(stack().maildir, 'new');
  let files: string[];
  try {
    files = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return files
    .map((file) => readFileSync(join(dir, file), 'utf8'))
    .filter((raw) => new RegExp(`^To:.*${escapeRegExp(to)}`, 'im').test(headerBlock(raw)));
}

/** The one-time code in a verification mail's text: the first line after "Kode verifikasi Anda:". */
/** The order reference in a verification mail's plain-text part. */
export function referenceIn(text: string): string {
  const found = /Nomor referensi pengajuan:\s*([0-9A-F]{8})/.exec(text);
  if (!found?.[1]) throw new Error(`no order reference in the mail:\n${text}`);
  return found[1];
}

export function codeIn(text: string): string {
  const after = text.split('Kode verifikasi Anda:')[1];
  const line = after
    ?.split('\n')
    .map((l) => l.trim())
    .find((l) => l.length > 0);
  if (!line) throw new Error(`no code in the mail:\n${text}`);
  return line;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function headerBlock(raw: string): string {
  const end = raw.search(/\r?\n\r?\n/);
  return end < 0 ? raw : raw.slice(0, end);
}

/** The decoded text/plain part of a MIME message (multipart or not). */
export function plainText(raw: string): string {
  const parts = mimeParts(raw);
  const text = parts.find((p) => /^content-type:\s*text\/plain/im.test(p.headers)) ?? parts[0];
  return text ? decodeBody(text) : '';
}

/** A MIME part's body, decoded from its transfer encoding. */
function decodeBody(part: { headers: string; body: string }): string {
  const encoding = /^content-transfer-encoding:\s*([\w-]+)/im.exec(part.headers)?.[1]?.toLowerCase();
  if (encoding === 'base64') return Buffer.from(part.body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(part.body);
  return part.body;
}

function mimeParts(raw: string): { headers: string; body: string }[] {
  const unfolded = raw.replace(/\r\n/g, '\n');
  const split = (entity: string) => {
    const end = entity.indexOf('\n\n');
    return end < 0
      ? { headers: entity, body: '' }
      : { headers: entity.slice(0, end).replace(/\n[ \t]+/g, ' '), body: entity.slice(end + 2) };
  };
  const top = split(unfolded);
  const boundary = /boundary="?([^";\n]+)"?/i.exec(top.headers)?.[1];
  if (!boundary) return [top];
  return top.body
    .split(`--${boundary}`)
    .slice(1)
    .filter((chunk) => !chunk.startsWith('--'))
    .flatMap((chunk) => mimeParts(chunk.replace(/^\n/, '')));
}

function decodeQuotedPrintable(body: string): string {
  const bytes = body
    .replace(/=\n/g, '')
    .replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

/** One file of a ZIP archive (an XLSX workbook is one), found through the central directory. */
export function unzipEntry(zip: Buffer, name: string): Buffer {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error('not a ZIP archive: no end of central directory');
  const entries = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  for (let i = 0; i < entries; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error('corrupt central directory');
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const skip = nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    if (zip.toString('utf8', at + 46, at + 46 + nameLength) === name) {
      const data = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const stored = zip.subarray(data, data + size);
      if (method === 0) return stored;
      if (method === 8) return inflateRawSync(stored);
      throw new Error(`${name}: compression method ${method} not supported`);
    }
    at += 46 + skip;
  }
  throw new Error(`${name} is not in the archive`);
}
