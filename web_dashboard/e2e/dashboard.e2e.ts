/**
 * The operators' dashboard in Debian's Chromium against the whole running system: the bridge,
 * the projection, the SSE feed, the mailer with a real SMTP server, the verify endpoint. The
 * steps follow a shift: a stranger is locked out, the admin signs in, orders arrive live, are
 * filtered, exported, verified by code; an operator account is made and cannot delete.
 * Screenshots go to `$GADAI_E2E_ARTIFACTS/screenshots/`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import {
  codeIn,
  eventually,
  htmlMailsTo,
  launchChromium,
  mailsTo,
  postHandoff,
  postOrders,
  referenceIn,
  screenshot,
  screenshotOf,
  stack,
  verifyCode,
  unzipEntry,
  type NewOrder,
} from './support/stack';

const SEED: NewOrder[] = [
  order('budi santoso', 'Laptop ASUS ROG Strix G16', 'laptop', 18_500_000, 'Jawa Barat'),
  order('siti santoso', 'iPhone 15 Pro 256GB', 'handphone', 14_000_000, 'DKI Jakarta'),
  order('agus wijaya', 'Sony Alpha A7 III', 'kamera', 16_000_000, 'Jawa Timur'),
  order('dewi lestari', 'Samsung Galaxy S24 Ultra', 'handphone', 15_500_000, 'Jawa Timur'),
  order('rudi hartono', 'LG OLED TV 55 inch', 'televisi', 12_000_000, 'Bali'),
  order('maya sari', 'MacBook Air M3', 'laptop', 17_000_000, 'Jawa Tengah'),
  order('joko santoso', 'Canon EOS R6', 'kamera', 21_000_000, 'Jawa Timur'),
  order('lina marlina', 'Samsung Galaxy Tab S9', 'elektronik', 8_500_000, 'Jawa Barat'),
];
const LIVE = order('rina kurniawati', 'Xiaomi 14 Ultra', 'handphone', 11_000_000, 'Banten');
const OPERATOR = { username: 'kasir.bandung', name: 'Kasir Bandung', password: 'kasir-bandung-2026' };

function order(name: string, item: string, type: string, value: number, wilayah: string): NewOrder {
  return {
    nama_customer: name,
    email: `${name.replace(' ', '.')}@gmail.com`,
    nama_barang: item,
    jenis_barang: type,
    jumlah_barang: 1,
    estimasi_nilai_barang: value,
    wilayah,
  };
}

/** How the bridge stores a name: title case. */
function titled(name: string): string {
  return name.replace(/\b\p{L}/gu, (c) => c.toUpperCase());
}

let browser: Browser;
let admin: BrowserContext;
let page: Page;
let liveId: string;

const rows = (p: Page = page) => p.locator('tbody tr[data-order-id]');
const rowOf = (id: string, p: Page = page) => p.locator(`tbody tr[data-order-id="${id}"]`);
const rowNamed = (name: string, p: Page = page) => rows(p).filter({ hasText: name });
const statusOf = (row: Locator) => row.locator('[data-status]').getAttribute('data-status');
const toast = (text: string | RegExp, p: Page = page) =>
  p.getByTestId('toast').filter({ hasText: text });

async function wait(what: string, check: () => Promise<boolean>, timeoutMs = 15_000) {
  await eventually(what, async () => ((await check()) ? true : undefined), timeoutMs);
}

/** The number on a stats card. */
async function statCount(p: Page, card: 'total' | 'On Process' | 'On Verification' | 'Verified'): Promise<number> {
  const text = await p.getByTestId(`stat-${card}`).innerText();
  return Number(/\d+/.exec(text)?.[0]);
}

/** The wilayah cells of the rows shown. */
async function shownWilayah(p: Page = page): Promise<string[]> {
  return rows(p).locator('td[data-label="Wilayah"]').allInnerTexts();
}

/** The login form's error line (the page has a toast alert region too). */
function loginError(p: Page): Promise<string> {
  return p.locator('#login-error').innerText();
}

async function logIn(p: Page, username: string, password: string) {
  await p.goto(stack().dashboard);
  await p.getByLabel('Username').fill(username);
  await p.getByLabel('Password').fill(password);
  await p.getByRole('button', { name: 'Masuk' }).click();
}

/** Every Content-Security-Policy violation any page reported: the app must cause none. */
const cspViolations: string[] = [];

function watchCsp(context: BrowserContext) {
  context.on('console', (message) => {
    if (/Content.Security.Policy/i.test(message.text())) cspViolations.push(message.text());
  });
}

beforeAll(async () => {
  browser = await launchChromium();
  admin = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'id-ID' });
  watchCsp(admin);
  page = await admin.newPage();
  await postOrders(SEED);
});

afterAll(async () => {
  await browser.close();
});

describe('sign-in', () => {
  test('the app is served with its security headers', async () => {
    const index = await fetch(stack().dashboard);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(index.headers.get('x-content-type-options')).toBe('nosniff');
    expect(index.headers.get('referrer-policy')).toBe('no-referrer');
    const https = await fetch(stack().dashboard, { headers: { 'X-Forwarded-Proto': 'https' } });
    expect(https.headers.get('strict-transport-security')).toContain('max-age=');
  });

  test('a wrong password is refused, and repeated tries are rate limited', async () => {
    const stranger = await browser.newContext({ locale: 'id-ID' });
    const p = await stranger.newPage();
    for (let i = 0; i < stack().loginRateLimit; i++) {
      await logIn(p, 'penyusup', `tebakan-${i}`);
      await expect.poll(() => loginError(p)).toBe('Username atau password salah.');
    }
    await screenshot(p, '01-login-refused');
    await logIn(p, 'penyusup', 'tebakan-terakhir');
    await expect
      .poll(() => loginError(p))
      .toBe('Terlalu banyak percobaan masuk. Coba lagi dalam 15 menit.');
    await expect.poll(() => p.getByRole('button', { name: 'Coba lagi dalam 15 menit' }).isDisabled()).toBe(true);
    await screenshot(p, '02-login-rate-limited');
    // The limit is per client and username: the admin still gets in from the same address.
    await logIn(p, stack().admin.username, 'not-the-password');
    await expect.poll(() => loginError(p)).toBe('Username atau password salah.');
    await stranger.close();
  });

  test('the admin signs in and sees the orders, the stats and the live feed', async () => {
    await logIn(page, stack().admin.username, stack().admin.password);
    await page.getByRole('heading', { name: 'Dashboard Gadai', level: 1 }).waitFor();
    await expect.poll(() => rows().count()).toBe(SEED.length);
    await expect.poll(() => statCount(page, 'total')).toBe(SEED.length);
    await expect.poll(() => page.locator('[data-connection]').getAttribute('data-connection')).toBe('live');
    // Values in Rupiah, as Indonesian operators write them.
    await expect.poll(() => rowNamed('Joko Santoso').getByTestId('value').innerText()).toBe('Rp 21.000.000');
    const pie = page.getByRole('figure', { name: 'Pesanan per Wilayah' });
    await pie.locator('svg').first().waitFor();
    await screenshot(page, '03-dashboard');
  });
});

describe('orders', () => {
  test('an order posted to the bridge appears live, highlighted, without a reload', async () => {
    await page.evaluate(() => {
      (window as unknown as { stayed?: boolean }).stayed = true;
    });
    [liveId] = (await postOrders([LIVE])) as [string];
    const row = rowOf(liveId);
    await row.waitFor({ timeout: 5_000 });
    expect(await row.getAttribute('data-new')).toBe('true');
    expect(await row.innerText()).toContain('Rina Kurniawati');
    expect(await statusOf(row)).toBe('On Process');
    expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
    await screenshot(page, '04-order-arrived-live');
  });

  test('the wilayah filter and the search narrow the table', async () => {
    await page.getByLabel('Wilayah', { exact: true }).selectOption('Jawa Timur');
    await wait('only Jawa Timur rows', async () => {
      const shown = await shownWilayah();
      return shown.length === 3 && shown.every((w) => w === 'Jawa Timur');
    });
    expect(page.url()).toContain('wilayah=Jawa+Timur');
    await page.getByLabel('Cari', { exact: true }).fill('santoso');
    await wait('Joko Santoso alone', async () => {
      const names = await rows().allInnerTexts();
      return names.length === 1 && names[0]!.includes('Joko Santoso');
    });
    await screenshot(page, '05-filtered-and-searched');
    await page.getByLabel('Wilayah', { exact: true }).selectOption('');
    await wait('every Santoso', async () => (await rows().count()) === 3);
    expect(await rows().allInnerTexts()).toEqual(
      expect.arrayContaining([
        expect.stringContaining('Budi Santoso'),
        expect.stringContaining('Siti Santoso'),
        expect.stringContaining('Joko Santoso'),
      ]),
    );
    await page.getByRole('button', { name: 'Atur ulang filter' }).click();
    await wait('the whole list back', async () => (await rows().count()) === SEED.length + 1);
  });

  test('the export downloads the filtered rows as CSV, XLSX and PDF', async () => {
    await page.getByLabel('Wilayah', { exact: true }).selectOption('Jawa Timur');
    await wait('only Jawa Timur rows', async () => (await shownWilayah()).length === 3);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Ekspor CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^gadai-orders-\d{8}-\d{4}\.csv$/);
    const csv = readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '');
    const [header, ...lines] = csv.trimEnd().split('\r\n');
    expect(header).toMatch(/^id,status,nama_customer,email,/);
    expect(lines).toHaveLength(3);
    for (const name of ['Agus Wijaya', 'Dewi Lestari', 'Joko Santoso']) {
      expect(lines.filter((l) => l.includes(name) && l.includes('Jawa Timur'))).toHaveLength(1);
    }
    await download.saveAs(`${stack().artifacts}/export-jawa-timur.csv`);

    const [xlsx] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Ekspor Excel (XLSX)' }).click(),
    ]);
    expect(xlsx.suggestedFilename()).toMatch(/^gadai-orders-\d{8}-\d{4}\.xlsx$/);
    const workbook = readFileSync(await xlsx.path());
    const sheet = unzipEntry(workbook, 'xl/worksheets/sheet1.xml').toString('utf8');
    expect(sheet.match(/<row /g)).toHaveLength(4);
    for (const name of ['Agus Wijaya', 'Dewi Lestari', 'Joko Santoso']) expect(sheet).toContain(name);
    expect(sheet).not.toContain('Budi Santoso');
    await xlsx.saveAs(`${stack().artifacts}/export-jawa-timur.xlsx`);

    const [pdf] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Ekspor PDF' }).click(),
    ]);
    expect(pdf.suggestedFilename()).toMatch(/^gadai-orders-\d{8}-\d{4}\.pdf$/);
    // pdftotext: Debian's poppler-utils (scripts/test.sh installs it).
    const pdfText = execFileSync('pdftotext', ['-layout', await pdf.path(), '-'], { encoding: 'utf8' });
    expect(pdfText).toContain('wilayah: Jawa Timur');
    expect(pdfText.match(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g)).toHaveLength(3);
    for (const name of ['Agus Wijaya', 'Dewi Lestari', 'Joko Santoso']) {
      expect(pdfText.split('\n').filter((l) => l.includes(name) && l.includes('Jawa Timur'))).toHaveLength(1);
    }
    expect(pdfText).not.toContain('Budi Santoso');
    await pdf.saveAs(`${stack().artifacts}/export-jawa-timur.pdf`);
    await page.getByRole('button', { name: 'Atur ulang filter' }).click();
    await wait('the whole list back', async () => (await rows().count()) === SEED.length + 1);
  });
});

describe('verification', () => {
  test('send, read the code from the mail, verify through the API: the badge turns green live', async () => {
    const row = rowOf(liveId);
    await row.locator('[data-action="send"]').click();
    await toast(`Mengirim kode verifikasi ke ${LIVE.email}`).waitFor();
    await wait('On Verification', async () => (await statusOf(row)) === 'On Verification');
    await toast(`Kode verifikasi terkirim ke ${LIVE.email}`).waitFor();
    const mail = await eventually('the mail', () => mailsTo(LIVE.email)[0]);
    expect(mail).toContain('Halo Rina Kurniawati');
    const code = codeIn(mail);
    expect(code).toMatch(/^[A-Z0-9]{6}$/);
    // The code is in the mail only: never on the operator's screen.
    expect(await page.content()).not.toContain(code);
    await screenshot(page, '06-code-sent');

    const reference = referenceIn(mail);
    expect(liveId.replaceAll('-', '').slice(0, 8).toUpperCase()).toBe(reference);
    const verified = await verifyCode(` ${code.toLowerCase()} `, reference.toLowerCase());
    expect(verified.status).toBe(200);
    await wait('Verified, live', async () => (await statusOf(row)) === 'Verified', 5_000);
    expect(await row.locator('[data-status]').innerText()).toBe('Verified');
    await toast('Order Rina Kurniawati terverifikasi').waitFor();
    expect(await row.locator('[data-action="send"]').getAttribute('aria-disabled')).toBe('true');
    // A used code is refused.
    expect((await verifyCode(code, reference)).status).toBe(404);
    // The cards follow the feed too.
    await expect.poll(() => statCount(page, 'Verified')).toBe(1);
    expect(await statCount(page, 'On Process')).toBe(SEED.length);
    await screenshot(page, '07-verified');
  });

  test('the drawer shows the history with who did what', async () => {
    await page.getByRole('button', { name: 'Lihat detail pesanan Rina Kurniawati' }).click();
    const drawer = page.getByRole('dialog');
    await drawer.waitFor();
    const events = drawer.locator('[data-event]');
    await wait('four history entries', async () => (await events.count()) === 4);
    expect(await events.evaluateAll((els) => els.map((e) => e.getAttribute('data-event')))).toEqual([
      'order.created',
      'verification.requested',
      'verification.sent',
      'order.verified',
    ]);
    expect(await drawer.locator('[data-event="verification.requested"]').innerText()).toContain('admin');
    await screenshot(page, '08-history-drawer');
    await page.keyboard.press('Escape');
    await drawer.waitFor({ state: 'detached' });
  });

  test('resend waits out the cool-down, and the new code replaces the old one', async () => {
    const target = SEED[4]!;
    const row = rowNamed(titled(target.nama_customer));
    await row.locator('[data-action="send"]').click();
    await wait('On Verification', async () => (await statusOf(row)) === 'On Verification');
    const firstMail = await eventually('the first mail', () => mailsTo(target.email)[0]);
    const first = codeIn(firstMail);
    const reference = referenceIn(firstMail);
    const resend = row.locator('[data-action="resend"]');
    await wait('resend blocked during the cool-down', async () =>
      /^Kirim Ulang \(\d+ d\)$/.test(await resend.innerText()),
    );
    expect(await resend.getAttribute('aria-disabled')).toBe('true');
    // The cool-down is 20 s (browser-stack's RESEND_COOLDOWN); a loaded machine may take much
    // longer to show it ended.
    await wait('resend allowed', async () => (await resend.innerText()) === 'Kirim Ulang', 90_000);
    await resend.click();
    const second = codeIn((await eventually('the second mail', () => mailsTo(target.email)[1])));
    expect(second).not.toBe(first);
    expect((await verifyCode(first, reference)).status).toBe(404);
    expect((await verifyCode(second, reference)).status).toBe(200);
    await wait('Verified', async () => (await statusOf(row)) === 'Verified');
  }, 180_000);
});

describe('roles', () => {
  let operator: BrowserContext;
  let opPage: Page;

  test('the admin adds an operator account', async () => {
    const panel = page.getByRole('region', { name: 'Kelola operator' });
    await panel.getByLabel('Username', { exact: true }).fill(OPERATOR.username);
    await panel.getByLabel('Nama tampilan').fill(OPERATOR.name);
    await panel.getByLabel(/^Password/).fill(OPERATOR.password);
    await panel.getByLabel('Peran', { exact: true }).selectOption('operator');
    await panel.getByRole('button', { name: 'Tambah operator' }).click();
    await toast(`Operator ${OPERATOR.username} ditambahkan`).waitFor();
    await panel.getByText(OPERATOR.username).first().waitFor();
  });

  test('an operator sees the orders and may send, but cannot delete', async () => {
    operator = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'id-ID' });
    watchCsp(operator);
    opPage = await operator.newPage();
    await logIn(opPage, OPERATOR.username, OPERATOR.password);
    await expect.poll(() => rows(opPage).count()).toBe(SEED.length + 1);
    expect(await opPage.locator('[data-action="delete"]').count()).toBe(0);
    expect(await opPage.locator('[data-action="send"]').count()).toBeGreaterThan(0);
    expect(await opPage.getByRole('region', { name: 'Kelola operator' }).count()).toBe(0);
    await screenshot(opPage, '09-operator-view');
  });

  test('the admin deletes only after confirming, and the operator sees the row go live', async () => {
    const name = titled(SEED[5]!.nama_customer);
    const row = rowNamed(name);
    await row.locator('[data-action="delete"]').click();
    const dialog = page.getByRole('alertdialog', { name: 'Hapus pesanan?' });
    await dialog.waitFor();
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Batal');
    await screenshot(page, '10-delete-confirmation');
    await dialog.getByRole('button', { name: 'Batal' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await row.count()).toBe(1);

    await row.locator('[data-action="delete"]').click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Ya, hapus' }).click();
    await toast(`Order ${name} berhasil dihapus`).waitFor();
    await wait('gone for the admin', async () => (await row.count()) === 0);
    await wait('gone for the operator, live', async () => (await rowNamed(name, opPage).count()) === 0);
    await operator.close();
  });
});

describe('hand-offs', () => {
  test('a hand-off from the agent appears live, and "Sudah dihubungi" closes it', async () => {
    const count = page.locator('header [data-handoffs]');
    await expect.poll(() => count.getAttribute('data-handoffs')).toBe('0');
    await page.evaluate(() => {
      (window as unknown as { beforeHandoff?: boolean }).beforeHandoff = true;
    });
    const name = titled(LIVE.nama_customer);
    const reference = liveId.replaceAll('-', '').slice(0, 8).toUpperCase();
    const ringkasan = 'Ingin memperpanjang masa gadai dan bertanya soal bunga; minta dihubungi petugas lewat email.';
    const opened = await postHandoff({
      id_percakapan: 'e2e-chat-rina-1',
      nama_customer: name,
      email: LIVE.email,
      referensi: reference.toLowerCase(),
      ringkasan,
    });
    expect(opened.status).toBe(201);
    const { handoff_id: handoffId } = (await opened.json()) as { handoff_id: string };

    const panel = page.getByRole('region', { name: 'Permintaan bantuan petugas' });
    const item = panel.locator(`[data-handoff-id="${handoffId}"]`);
    await item.waitFor({ timeout: 5_000 });
    expect(await item.innerText()).toContain(ringkasan);
    await expect.poll(() => count.getAttribute('data-handoffs')).toBe('1');
    expect(await count.getAttribute('aria-label')).toBe('1 hand-off menunggu');
    expect(await panel.getByTestId('handoffs-count').innerText()).toBe('1 hand-off menunggu');
    expect(await page.evaluate(() => (window as unknown as { beforeHandoff?: boolean }).beforeHandoff)).toBe(true);
    expect(await item.getByRole('link', { name: LIVE.email }).getAttribute('href')).toBe(`mailto:${LIVE.email}`);
    // The reference and e-mail named the order: the operator can open it.
    expect(await item.getByRole('button', { name: `Lihat pesanan ${reference}` }).count()).toBe(1);
    expect(await item.innerText()).toContain('e2e-chat-rina-1');

    // The header's count leads to the panel.
    await page.evaluate(() => window.scrollTo(0, 0));
    await count.click();
    await expect.poll(() => panel.evaluate((el) => el === document.activeElement)).toBe(true);
    await screenshotOf(panel, '13-handoff-queue');

    await item.getByRole('button', { name: `Sudah dihubungi: ${name}` }).click();
    await item.waitFor({ state: 'detached' });
    await toast(`Permintaan ${name} ditandai sudah dihubungi`).waitFor();
    await expect.poll(() => count.getAttribute('data-handoffs')).toBe('0');
    await panel.getByText('Tidak ada permintaan yang menunggu').waitFor();
    // The server agrees (the projection applies the close a moment after the answer).
    await expect
      .poll(async () => {
        const queue = await page.request.get(`${stack().dashboard}/dashboard/handoffs`);
        expect(queue.status()).toBe(200);
        return ((await queue.json()) as { open: number }).open;
      })
      .toBe(0);
  });
});

describe('personal data', () => {
  const panel = () => page.getByRole('region', { name: 'Data pribadi' });
  const ALASAN = `PDP-E2E-${Date.now().toString(36).toUpperCase()}`;

  /** Downloads the access export for `email` and returns its file name and text. */
  async function exportFor(email: string): Promise<{ name: string; text: string }> {
    const section = panel().getByRole('region', { name: 'Unduh data pelanggan' });
    await section.getByLabel('Email pelanggan').fill(email);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      section.getByRole('button', { name: 'Unduh JSON' }).click(),
    ]);
    const text = readFileSync(await download.path(), 'utf8');
    await download.saveAs(`${stack().artifacts}/${download.suggestedFilename()}`);
    return { name: download.suggestedFilename(), text };
  }

  test('the access export downloads everything held about the customer, as JSON', async () => {
    await panel().scrollIntoViewIfNeeded();
    const { name, text } = await exportFor(LIVE.email);
    expect(name).toMatch(/^data-pelanggan-[0-9a-f]{8}\.json$/);
    const data = JSON.parse(text) as {
      subject: string;
      pesanan: { id: string; nama_customer: string | null; email: string | null; data_dihapus: boolean; riwayat: { type: string }[] }[];
      handoff: { ringkasan: string | null }[];
    };
    expect(data.subject).toMatch(/^[0-9a-f]{64}$/);
    expect(data.pesanan.map((o) => o.id)).toEqual([liveId]);
    expect(data.pesanan[0]!.nama_customer).toBe(titled(LIVE.nama_customer));
    expect(data.pesanan[0]!.email).toBe(LIVE.email);
    expect(data.pesanan[0]!.riwayat.map((e) => e.type)).toContain('order.created');
    expect(data.handoff).toHaveLength(1);
    // Nothing held: said on the page, nothing downloaded.
    const section = panel().getByRole('region', { name: 'Unduh data pelanggan' });
    await section.getByLabel('Email pelanggan').fill('tidak.pernah.pesan@gmail.com');
    await section.getByRole('button', { name: 'Unduh JSON' }).click();
    await section.getByText('Tidak ada data yang disimpan untuk email ini.').waitFor();
  });

  test('the admin erases a customer by e-mail after the confirmation; the row shows "data dihapus" live', async () => {
    const name = titled(LIVE.nama_customer);
    const erase = panel().getByRole('region', { name: 'Hapus data pelanggan' });
    await erase.getByLabel('Email pelanggan').fill(LIVE.email);
    // A reason with an e-mail in it would keep the data in the log: refused before asking.
    await erase.getByLabel('Alasan (nomor permintaan)').fill(`permintaan ${LIVE.email}`);
    await erase.getByRole('button', { name: 'Hapus data pelanggan' }).click();
    await erase.getByText('Alasan tidak boleh memuat tanda @: tulis nomor permintaannya, bukan email.').waitFor();
    await erase.getByLabel('Alasan (nomor permintaan)').fill(ALASAN);
    await erase.getByRole('button', { name: 'Hapus data pelanggan' }).click();

    const dialog = page.getByRole('alertdialog', { name: 'Hapus data pribadi pelanggan?' });
    await dialog.waitFor();
    expect(await dialog.innerText()).toContain('SEMUA pesanannya');
    expect(await dialog.innerText()).toContain('tidak dapat dibatalkan');
    expect(await dialog.getByTestId('erase-target').innerText()).toBe(`Pelanggan dengan email ${LIVE.email}`);
    await screenshot(page, '15-erase-confirmation');
    await dialog.getByRole('button', { name: 'Ya, hapus permanen' }).click();

    expect(await erase.getByTestId('erase-result').innerText()).toContain(
      'Data pribadi dihapus dari 1 pesanan dan 1 permintaan bantuan.',
    );
    const row = rowOf(liveId);
    await wait('the row erased, live', async () => (await row.innerText()).includes('data dihapus'), 5_000);
    expect(await row.innerText()).not.toContain(name);
    expect(await row.innerText()).not.toContain(LIVE.email);
    expect(await statusOf(row)).toBe('Verified');
    // The statistics keep their counts.
    expect(await statCount(page, 'total')).toBe(SEED.length);

    const log = panel().getByTestId('erasure-log');
    const entry = log.locator('tr').filter({ hasText: ALASAN });
    await entry.waitFor();
    expect(await entry.innerText()).toMatch(/admin\s+Permintaan pelanggan\s+PDP-E2E-\S+\s+1\s+1/);
    await screenshotOf(panel(), '16-personal-data-panel');

    await row.getByRole('button', { name: /^Lihat detail pesanan data dihapus/ }).click();
    const drawer = page.getByRole('dialog', { name: 'Detail Pesanan' });
    await drawer.getByTestId('drawer-erased').waitFor();
    expect(await drawer.innerText()).not.toContain(name);
    await page.keyboard.press('Escape');
    await drawer.waitFor({ state: 'detached' });

    // What is held now is the erased order, without the name or the e-mail.
    const after = await exportFor(LIVE.email);
    expect(after.text).not.toContain(name);
    expect(after.text).not.toContain(LIVE.email);
    expect(after.text).toContain(ALASAN);
  });

  test("the drawer's action erases its order's customer", async () => {
    const target = SEED[7]!;
    const name = titled(target.nama_customer);
    await page.getByRole('button', { name: `Lihat detail pesanan ${name}` }).click();
    const drawer = page.getByRole('dialog', { name: 'Detail Pesanan' });
    await drawer.getByRole('button', { name: 'Hapus data pribadi' }).click();
    const dialog = page.getByRole('alertdialog', { name: 'Hapus data pribadi pelanggan?' });
    await dialog.getByLabel('Alasan (nomor permintaan)').fill(`${ALASAN}-2`);
    await dialog.getByRole('button', { name: 'Ya, hapus permanen' }).click();
    await toast('Data pribadi dihapus dari 1 pesanan dan 0 permintaan bantuan.').waitFor();
    await drawer.getByTestId('drawer-erased').waitFor();
    await screenshot(page, '17-drawer-erased');
    await page.keyboard.press('Escape');
    await drawer.waitFor({ state: 'detached' });
    await wait('gone from the table', async () => (await rowNamed(name).count()) === 0, 5_000);
    await panel().getByTestId('erasure-log').locator('tr').filter({ hasText: `${ALASAN}-2` }).waitFor();
  });
});

describe('mail template', () => {
  test('the admin edits the mail with a live preview; the next mail carries it, escaped, and its code works', async () => {
    const panel = page.getByRole('region', { name: 'Template email verifikasi' });
    await panel.scrollIntoViewIfNeeded();
    const greeting = panel.getByLabel('Salam pembuka (Bahasa Indonesia)');
    const instructions = panel.getByLabel('Petunjuk (Bahasa Indonesia)');
    await expect.poll(() => greeting.inputValue()).toBe('Halo {nama},\n\nTerima kasih telah mengajukan gadai elektronik di Pegadaian.');
    await expect.poll(() => panel.getByTestId('mail-template-status').innerText()).toBe('Memakai teks bawaan.');
    const preview = page.frameLocator('iframe[title="Pratinjau email (HTML)"]');
    await preview.getByText('Halo Budi Santoso,').waitFor();
    // Under the app's Content-Security-Policy the preview shows the mail's own design: the
    // code large (an inline style the policy allows by its hash).
    expect(await preview.getByText('AB3D5F', { exact: true }).first().evaluate((el) => getComputedStyle(el).fontSize)).toBe('36px');

    // The rules hold while typing: an unknown placeholder, the code removed.
    await greeting.fill('Halo {nama_lengkap}');
    await panel.getByText('Placeholder {nama_lengkap} tidak dikenal. Gunakan {nama}, {referensi}, {kode}, {berlaku_sampai}.').waitFor();
    const original = await instructions.inputValue();
    await instructions.fill(original.replace('{kode}', 'kode'));
    await panel
      .getByText('Wajib memuat {kode}: pelanggan memberikan nomor referensi dan kode kepada asisten.')
      .waitFor();
    expect(await instructions.getAttribute('aria-invalid')).toBe('true');

    const marker = `PENANDA-${Date.now().toString(36).toUpperCase()}`;
    await greeting.fill(`Salam hangat {nama}, <b>${marker}</b>`);
    await instructions.fill(`${original}\n\nCatatan ${marker}: kode hanya untuk Anda.`);
    // The preview follows, with the tag shown as text (escaped), not as bold.
    await preview.getByText(`Salam hangat Budi Santoso, <b>${marker}</b>`).waitFor();
    expect(await preview.locator('b').count()).toBe(0);
    await preview.getByText(`Catatan ${marker}: kode hanya untuk Anda.`).waitFor();
    expect(await panel.locator('[data-error-for]').count()).toBe(0);

    await panel.getByRole('button', { name: 'Simpan template' }).click();
    await toast('Template email disimpan. Email berikutnya memakai teks ini.').waitFor();
    await expect.poll(() => panel.getByTestId('mail-template-status').innerText()).toMatch(/^Terakhir diubah oleh admin, /);
    const history = panel.getByTestId('mail-history');
    await history.getByText('admin mengubah Salam pembuka (ID), Petunjuk (ID)').waitFor();
    await screenshotOf(panel, '14-mail-template');

    // The next mail uses it.
    const target = SEED[0]!;
    const row = rowNamed(titled(target.nama_customer));
    await row.locator('[data-action="send"]').click();
    await wait('On Verification', async () => (await statusOf(row)) === 'On Verification');
    const mail = await eventually('the mail', () => mailsTo(target.email)[0]);
    expect(mail).toContain(`Salam hangat Budi Santoso, <b>${marker}</b>`);
    expect(mail).toContain(`Catatan ${marker}: kode hanya untuk Anda.`);
    expect(mail).toContain('Hello Budi Santoso,');
    const html = htmlMailsTo(target.email)[0]!;
    expect(html).toContain(`Salam hangat Budi Santoso, &lt;b&gt;${marker}&lt;/b&gt;`);
    expect(html).not.toContain(`<b>${marker}`);
    // Its code still verifies the order.
    const code = codeIn(mail);
    expect(html).toContain(code);
    expect((await verifyCode(code, referenceIn(mail))).status).toBe(200);
    await wait('Verified', async () => (await statusOf(row)) === 'Verified');
  }, 90_000);
});

describe('language and layout', () => {
  test('the English switch changes the texts, and back', async () => {
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Gadai Dashboard', level: 1 }).waitFor();
    expect(await page.getByLabel('Search', { exact: true }).count()).toBe(1);
    expect(await page.locator('[data-action="send"]').first().innerText()).toBe('Send Verification');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
    await screenshot(page, '11-english');
    await page.getByRole('button', { name: 'Bahasa Indonesia' }).click();
    await page.getByRole('heading', { name: 'Dashboard Gadai', level: 1 }).waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('id');
  });

  test('at 360 px wide nothing scrolls sideways', async () => {
    const narrow = await admin.newPage();
    await narrow.setViewportSize({ width: 360, height: 780 });
    await narrow.goto(stack().dashboard);
    await expect.poll(() => rows(narrow).count()).toBe(SEED.length);
    await narrow.getByRole('figure', { name: 'Pesanan per Wilayah' }).locator('svg').first().waitFor();
    expect(await narrow.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await screenshot(narrow, '12-narrow-360');
    await narrow.close();
  });

  test('logging out ends the session', async () => {
    await page.getByRole('button', { name: 'Keluar' }).click();
    await page.getByRole('heading', { name: 'Masuk ke Dashboard Gadai' }).waitFor();
    const session = await page.request.get(`${stack().dashboard}/dashboard/auth/me`);
    expect(session.status()).toBe(401);
  });
});

describe('content security policy', () => {
  test('no page of the app broke the policy', () => {
    expect(cspViolations).toEqual([]);
  });
});
