/**
 * `rto sandbox alma`: the Alma sandbox alone (for trying the client, or pointing another tool at it).
 * `rto sandbox vendor-files <account> <orderId>...`: what the vendor would send for orders that exist (an
 * ORDRSP, an INVOIC and a MARC file naming their PO lines), written into the account's local vendor folders,
 * so a newcomer can try `rto edi run` and `rto overlay run` (README: "Try the follow-ups").
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type { Account } from '../config/schema';
import { normaliseIsbn } from '../contract/isbn';
import { VENDOR_STATUSES, buildInvoice, buildOrderResponse, type VendorStatus } from '../edi';
import { writeIso2709, type MarcRecord } from '../marc';
import { orderWorkflowId } from '../order/ids';
import { statusQuery } from '../order/messages';
import type { OrderStatus } from '../order/types';
import { parseDuration } from '../config/duration';
import { seedFromConfig, startAlmaSandbox, withDemoHeldTitles } from '../sandbox/alma';
import { EXIT, UnknownValueError, UsageError, oneOf, parse, printJson } from './args';
import { connectOrders, loadContext } from './context';
import { printableLine } from './terminal';

const USAGE = `Usage:
  rto sandbox alma [--port <n>] [--state <file>] [--bib-delay <ms>] [--async-delay <duration>]
                   [--index-lag <duration>] [--search-match strict|lenient]
                   [--duplicate-reference refuse|accept]
  rto sandbox vendor-files <account> <orderId>... [--status <status>] [--unit-price <amount>]
                                                  [--only ordrsp,invoic,marc] [--json]

alma: serves Alma's REST API on 127.0.0.1 (default port 8480, or ALMA_SANDBOX_PORT), seeded from the
configuration (RTO_CONFIG), with the titles the demo holds (docs/alma-sandbox.md, "Held titles"). Admin API: GET /_sandbox/state, POST /_sandbox/faults, POST /_sandbox/reset.
PO lines as Alma treats them (docs/alma-sandbox.md): a new line gets its status, alerts and po_number
--async-delay after the POST (default 3s); the search sees a new or changed line --index-lag after it
(default 10s) and matches whole words (--search-match strict, the default) or substrings (lenient); a second
live line with the same vendor reference number is refused (--duplicate-reference refuse, the default).

vendor-files: writes what the vendor would send for orders that have their PO line (stage FOLLOWING_UP):
an order response (each line with --status, default shipped), an invoice (one copy each at the order's list
price, or --unit-price to make a difference the follow-up flags) and a MARC file of full records (the
account's order id and PO line fields filled), into the account's local EDI and MARC folders. Then:
rto edi run <account>, rto overlay run <account>.`;

type Kind = 'ordrsp' | 'invoic' | 'marc';
const KINDS: readonly Kind[] = ['ordrsp', 'invoic', 'marc'];

function print(lines: string[]): void {
  process.stdout.write(lines.map(printableLine).join('\n') + '\n');
}

/** A duration flag (e.g. 3s, 500ms, 2m) in milliseconds, or undefined when not given. */
function durationFlag(values: Record<string, unknown>, name: string): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  try {
    return parseDuration(String(v));
  } catch (e) {
    throw new UsageError(`--${name}: ${(e as Error).message}\n\n${USAGE}`);
  }
}

async function almaCommand(values: Record<string, unknown>): Promise<number> {
  const { settings, config, logger } = loadContext();
  const searchMatch = values['search-match'] as string | undefined;
  const duplicateReference = values['duplicate-reference'] as string | undefined;
  const sandbox = await startAlmaSandbox({
    port: values.port !== undefined ? Number(values.port) : settings.ALMA_SANDBOX_PORT,
    seed: withDemoHeldTitles(seedFromConfig(config)),
    stateFile: values.state as string | undefined,
    bibDelayMs: values['bib-delay'] !== undefined ? Number(values['bib-delay']) : undefined,
    asyncDelayMs: durationFlag(values, 'async-delay') ?? 3000,
    indexLagMs: durationFlag(values, 'index-lag') ?? 10_000,
    searchMatch:
      searchMatch === undefined
        ? 'strict'
        : oneOf('--search-match value', searchMatch, ['strict', 'lenient'] as const),
    duplicateReference:
      duplicateReference === undefined
        ? 'refuse'
        : oneOf('--duplicate-reference value', duplicateReference, ['refuse', 'accept'] as const),
    logger,
  });
  process.stdout.write(
    `Alma sandbox: ${sandbox.url} (admin ${sandbox.baseUrl}/_sandbox/state). Ctrl-C stops it.\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await sandbox.close();
  return EXIT.ok;
}

/** What is known of an order for its vendor files: its status, and the title and ISBN it was placed with. */
interface OrderFacts {
  status: OrderStatus;
  title: string;
  author?: string;
  isbn?: string;
}

async function orderFacts(client: Client, account: string, orderId: string): Promise<OrderFacts> {
  const handle = client.workflow.getHandle(orderWorkflowId(account, orderId));
  let status: OrderStatus;
  try {
    status = await handle.query(statusQuery);
  } catch (e) {
    const name = (e as Error).name;
    throw new UsageError(
      name === 'WorkflowNotFoundError'
        ? `order ${orderId} of ${account} does not exist`
        : `the status of order ${orderId} could not be read: ${(e as Error).message}`,
    );
  }
  // The title and ISBN are in the order as placed: the workflow's input (decoded as the client reads it).
  let item: { title?: unknown; author?: unknown; isbn?: unknown } = {};
  try {
    for (const event of (await handle.fetchHistory()).events ?? []) {
      const payloads = event.workflowExecutionStartedEventAttributes?.input?.payloads;
      if (!payloads) continue;
      const input = await decodeFromPayloadsAtIndex<{ order?: { item?: typeof item } }>(
        client.options.loadedDataConverter,
        0,
        payloads,
      );
      item = input.order?.item ?? {};
      break;
    }
  } catch {
    // Without the history the record still has the order's references; the title says what it is for.
  }
  const isbn = typeof item.isbn === 'string' ? (normaliseIsbn(item.isbn) ?? undefined) : undefined;
  return {
    status,
    title: typeof item.title === 'string' && item.title ? item.title : `The book of order ${orderId}`,
    ...(typeof item.author === 'string' && item.author ? { author: item.author } : {}),
    ...(isbn ? { isbn } : {}),
  };
}

/** `980$a` as a tag and a subfield code. */
function fieldSpec(spec: string): { tag: string; code: string } {
  const m = /^(\d{3})\$([a-z0-9])$/.exec(spec);
  if (!m) throw new UsageError(`the account's MARC field "${spec}" is not of the form 980$a`);
  return { tag: m[1]!, code: m[2]! };
}

function marcRecord(acc: Account, orderId: string, facts: OrderFacts): MarcRecord {
  const f = acc.marc.fields;
  // The account's order id and PO line fields (e.g. 980$a, 980$b), as its vendor fills them; without them
  // the overlay still finds the order by ISBN.
  const refs: { tag: string; code: string; value: string }[] = [];
  if (f.orderId) refs.push({ ...fieldSpec(f.orderId), value: orderId });
  if (f.poLine && facts.status.poLine) refs.push({ ...fieldSpec(f.poLine), value: facts.status.poLine });
  const fields: MarcRecord['fields'] = [
    { tag: '001', value: `SANDBOX-${orderId}` },
    { tag: '003', value: 'SANDBOX' },
    ...(facts.isbn
      ? [{ tag: '020', ind1: ' ', ind2: ' ', subfields: [{ code: 'a', value: facts.isbn }] }]
      : []),
    ...(facts.author
      ? [{ tag: '100', ind1: '1', ind2: ' ', subfields: [{ code: 'a', value: facts.author }] }]
      : []),
    { tag: '245', ind1: '1', ind2: '0', subfields: [{ code: 'a', value: facts.title }] },
    { tag: '264', ind1: ' ', ind2: '1', subfields: [{ code: 'b', value: 'Sandbox Vendor Press,' }] },
    {
      tag: '500',
      ind1: ' ',
      ind2: ' ',
      subfields: [{ code: 'a', value: 'Full record from rto sandbox vendor-files.' }],
    },
  ];
  for (const tag of [...new Set(refs.map((r) => r.tag))])
    fields.push({
      tag,
      ind1: ' ',
      ind2: ' ',
      subfields: refs.filter((r) => r.tag === tag).map((r) => ({ code: r.code, value: r.value })),
    });
  fields.sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
  return { leader: '00000nam a2200000 i 4500', fields };
}

/** The account's local folder for EDI or MARC files, or why there is none. */
function localFolder(acc: Account, kind: 'edi' | 'marc', account: string): string {
  const src = acc[kind].source;
  if (!src) throw new UsageError(`account "${account}" has no ${kind.toUpperCase()} source configured`);
  if (src.type !== 'local')
    throw new UsageError(
      `account "${account}" takes its ${kind.toUpperCase()} files from ${src.type.toUpperCase()}: vendor-files writes only into local folders (npm start's are local)`,
    );
  return path.resolve(src.path);
}

/** Written under a hidden name first, so a pick-up running meanwhile never takes half a file. */
function writeInto(dir: string, name: string, data: Buffer): string {
  mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${name}.part`);
  writeFileSync(tmp, data);
  const target = path.join(dir, name);
  renameSync(tmp, target);
  return target;
}

async function vendorFilesCommand(values: Record<string, unknown>, positionals: string[]): Promise<number> {
  const [, account, ...orderIds] = positionals;
  if (!account || orderIds.length === 0) throw new UsageError(USAGE);
  const ctx = loadContext();
  const acc = Object.prototype.hasOwnProperty.call(ctx.config.accounts, account)
    ? ctx.config.accounts[account]
    : undefined;
  if (!acc)
    throw new UnknownValueError(
      `account "${account}" is not configured (known: ${Object.keys(ctx.config.accounts).join(', ')})`,
    );
  const status = oneOf(
    'status',
    (values.status as string | undefined) ?? 'shipped',
    VENDOR_STATUSES.filter((s) => s !== 'unknown'),
  ) as VendorStatus;
  const only = ((values.only as string | undefined) ?? KINDS.join(','))
    .split(',')
    .map((k) => oneOf('file kind', k.trim(), KINDS));
  const unitPrice = values['unit-price'] as string | undefined;
  if (unitPrice !== undefined && !/^\d+(\.\d+)?$/.test(unitPrice))
    throw new UsageError(`--unit-price must be an amount such as 12.50, not "${unitPrice}"`);
  const ediDir = only.some((k) => k !== 'marc') ? localFolder(acc, 'edi', account) : undefined;
  const marcDir = only.includes('marc') ? localFolder(acc, 'marc', account) : undefined;

  const conn = await connectOrders(ctx);
  const facts: { orderId: string; facts: OrderFacts }[] = [];
  try {
    for (const orderId of orderIds) {
      const f = await orderFacts(conn.client, account, orderId);
      if (!f.status.poLine)
        throw new UsageError(
          `order ${orderId} has no PO line yet (stage ${f.status.stage}): vendor files name the PO line, wait for FOLLOWING_UP`,
        );
      facts.push({ orderId, facts: f });
    }
  } finally {
    await conn.close();
  }

  const now = new Date();
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  const sender = { id: acc.alma.vendorCode || 'SANDBOX-VENDOR', qualifier: '92' };
  const recipient = { id: account, qualifier: '91' };
  const written: { kind: Kind; file: string }[] = [];
  const currency = facts.find((f) => f.facts.status.price)?.facts.status.price?.currency ?? 'USD';
  if (only.includes('ordrsp')) {
    const data = buildOrderResponse({
      sender,
      recipient,
      preparedAt: now,
      controlRef: `R${stamp.slice(2)}`,
      documentNumber: `SANDBOX-R-${stamp}`,
      lines: facts.map(({ orderId, facts: f }, i) => {
        const ordered = f.status.quantityOrdered ?? 1;
        return {
          lineNo: i + 1,
          status,
          ordered,
          ...(status === 'shipped' ? { despatched: ordered } : {}),
          ...(status === 'backordered' ? { backordered: ordered, expectedDate: inDays(now, 30) } : {}),
          ...(f.isbn ? { isbn: f.isbn } : {}),
          poLine: f.status.poLine!,
          vendorRef: orderId,
        };
      }),
    });
    written.push({ kind: 'ordrsp', file: writeInto(ediDir!, `${account}-ordrsp-${stamp}.edi`, data) });
  }
  if (only.includes('invoic')) {
    const data = buildInvoice({
      sender,
      recipient,
      preparedAt: now,
      controlRef: `I${stamp.slice(2)}`,
      number: `SANDBOX-INV-${stamp}`,
      currency,
      lines: facts.map(({ orderId, facts: f }, i) => {
        const price = unitPrice ?? f.status.price?.amount ?? '25.00';
        return {
          lineNo: i + 1,
          quantity: 1,
          netUnitPrice: price,
          grossUnitPrice: price,
          lineAmount: price,
          ...(f.isbn ? { isbn: f.isbn } : {}),
          title: f.title.slice(0, 200),
          poLine: f.status.poLine!,
          vendorRef: orderId,
        };
      }),
    });
    written.push({ kind: 'invoic', file: writeInto(ediDir!, `${account}-invoic-${stamp}.edi`, data) });
  }
  if (only.includes('marc')) {
    const data = Buffer.concat(
      facts.map(({ orderId, facts: f }) => writeIso2709(marcRecord(acc, orderId, f))),
    );
    written.push({ kind: 'marc', file: writeInto(marcDir!, `${account}-records-${stamp}.mrc`, data) });
  }
  if (values.json) {
    printJson({ account, orders: orderIds, status, written });
  } else {
    print([
      `Vendor files for ${orderIds.length} order(s) of ${account}:`,
      ...written.map((w) => `  ${w.kind.padEnd(6)} ${w.file}`),
      'Next:',
      ...(written.some((w) => w.kind !== 'marc') ? [`  rto edi run ${account}`] : []),
      ...(written.some((w) => w.kind === 'marc') ? [`  rto overlay run ${account}`] : []),
      `  rto order status ${account} ${orderIds[0]}`,
    ]);
  }
  return EXIT.ok;
}

function inDays(from: Date, days: number): string {
  return new Date(from.getTime() + days * 86_400_000).toISOString().slice(0, 10);
}

export async function sandboxCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      port: { type: 'string' },
      state: { type: 'string' },
      'bib-delay': { type: 'string' },
      'async-delay': { type: 'string' },
      'index-lag': { type: 'string' },
      'search-match': { type: 'string' },
      'duplicate-reference': { type: 'string' },
      status: { type: 'string' },
      'unit-price': { type: 'string' },
      only: { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  const sub = positionals[0];
  if (values.help || (sub !== 'alma' && sub !== 'vendor-files')) {
    process.stdout.write(USAGE + '\n');
    return values.help ? EXIT.ok : EXIT.failure;
  }
  if (sub === 'alma') return almaCommand(values);
  return vendorFilesCommand(values, positionals);
}
