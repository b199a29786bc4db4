/**
 * The configuration file's shape: institutions (Alma gateways and their API budget) and OASIS accounts.
 * Everything docs/configuration.md lists can be said here. Secrets are references, never values.
 */
import { z } from 'zod';
import { duration } from './duration';
import { own } from './lookup';

/** Whether Intl knows the zone (what the digest's day and Temporal's Schedule spec are computed in). */
function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** A secret is named, not written: an environment variable or a file (e.g. a Docker/Kubernetes secret). */
export const secretRef = z
  .strictObject(
    {
      env: z
        .string()
        .regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name in capitals')
        .optional(),
      file: z.string().min(1).optional(),
      /** Only for the Alma sandbox's well-known keys: used when neither env nor file gives a value. */
      sandboxDefault: z
        .string()
        .startsWith('sandbox-', 'sandboxDefault may only hold a sandbox key')
        .optional(),
    },
    {
      // Never echo the value: an inline secret must not reach logs through the error.
      error: (iss) =>
        iss.code === 'invalid_type'
          ? 'a secret is written as a reference, never inline: { "env": "VARIABLE" } or { "file": "/path/to/secret" }'
          : undefined,
    },
  )
  .refine((s) => s.env || s.file || s.sandboxDefault, 'name an env variable or a file holding the secret');
export type SecretRef = z.infer<typeof secretRef>;

/**
 * The names of the members every JavaScript object has (`constructor`, `toString`, `__proto__`, ...). The
 * configuration is made of plain objects and is looked up by codes that come from orders and vendor files, so
 * such a name as a code would read (or, for `__proto__`, silently lose) the wrong thing: it is refused as a code.
 */
const OBJECT_MEMBERS: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

export function isObjectMemberName(name: string): boolean {
  return OBJECT_MEMBERS.has(name);
}

export function objectMemberProblem(name: string): string {
  return `"${name}" is the name of a member every JavaScript object has (Object.prototype.${name}); choose another code`;
}

/** An account, institution, library, location, fund or vendor code. */
const code = z
  .string()
  .min(1)
  .max(64)
  .refine((c) => !isObjectMemberName(c), { error: (iss) => objectMemberProblem(String(iss.input)) });

/** Where vendor files are: a local folder (the embedded default), FTP or SFTP. */
export const fileSource = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('local'), path: z.string().min(1) }),
  z.strictObject({
    type: z.literal('ftp'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(21),
    user: z.string().min(1),
    password: secretRef,
    dir: z.string().default('/'),
    /**
     * FTPS (TLS). Off by default for the embedded vendor FTP server on loopback; production should set it to
     * true (or use SFTP): plain FTP sends the password and the vendor's files in clear.
     */
    secure: z.boolean().default(false),
  }),
  z.strictObject({
    type: z.literal('sftp'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(22),
    user: z.string().min(1),
    password: secretRef.optional(),
    privateKey: secretRef.optional(),
    dir: z.string().default('/'),
    /** The server's host key, SHA-256 in base64 (as `ssh-keyscan | ssh-keygen -lf -` prints it, without "SHA256:"). */
    hostKeySha256: z
      .string()
      .regex(/^(SHA256:)?[A-Za-z0-9+/]{43}=?$/, 'the SHA-256 fingerprint of the server host key, base64')
      .optional(),
  }),
]);
export type FileSource = z.infer<typeof fileSource>;

/** Loopback hosts, where plain HTTP never leaves the machine (the embedded Alma sandbox). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1') return true;
  const v4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return !!v4 && v4.slice(1).every((n) => Number(n) <= 255);
}

/** The Alma gateway gets the API key in every request: HTTPS, unless it is on this machine. */
const gateway = z.url().refine((u) => {
  // A string that is no URL at all is already reported by z.url().
  if (!URL.canParse(u)) return true;
  const url = new URL(u);
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
}, 'must be an https: URL (over http: the API key would travel in clear); ' + 'http: is allowed only on loopback (127.0.0.0/8, localhost, ::1)');

/**
 * Codes of Alma's PO line status code table that the project acts on, as a PO line's `status.value` carries
 * them. The defaults and where each comes from (some are UNCONFIRMED) are in docs/configuration.md; an
 * institution whose Alma answers otherwise says so here.
 */
export const poLineStatusCodes = z.strictObject({
  /** The line waits for staff in the In Review queue (Alma's Review tab), not sent to the vendor. */
  inReview: z.array(z.string().min(1)).min(1).default(['IN_REVIEW']),
  /** The line was cancelled: never this order's line for the duplicate check. */
  cancelled: z.array(z.string().min(1)).min(1).default(['CANCELLED']),
  /** The line was closed (received and paid, or closed by staff). */
  closed: z.array(z.string().min(1)).min(1).default(['CLOSED']),
});
export type PoLineStatusCodes = z.infer<typeof poLineStatusCodes>;
/** The documented defaults (docs/configuration.md). */
export const DEFAULT_STATUS_CODES: PoLineStatusCodes = poLineStatusCodes.parse({});

/**
 * The institution's SRU target (docs/configuration.md): its Alma domain (https://univ.alma.exlibrisgroup.com,
 * then /view/sru/<institution code> is added) or the whole base (…/view/sru/<code>). No key travels to it, but
 * https: still, but on loopback (the sandbox).
 */
const sruUrl = z.url().refine((u) => {
  if (!URL.canParse(u)) return true;
  const url = new URL(u);
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
  const path = url.pathname.replace(/\/+$/, '');
  return secure && !url.search && !url.hash && (path === '' || /^\/view\/sru\/[^/]+$/.test(path));
}, 'must be an https: URL (http: only on loopback) of the Alma domain, or of /view/sru/<institution code>, without a query');

/** The SRU base for an institution: the configured one, with /view/sru/<code> added to a bare domain. */
export function sruBaseUrl(inst: { sru?: string | undefined }, code: string): string | undefined {
  if (!inst.sru) return undefined;
  const url = new URL(inst.sru);
  const path = url.pathname.replace(/\/+$/, '');
  return path ? `${url.origin}${path}` : `${url.origin}/view/sru/${encodeURIComponent(code)}`;
}

export const institution = z.strictObject({
  /** Alma gateway base URL ending in /almaws/v1. */
  gateway,
  /** Alma's SRU target, for the duplicate check's catalogue search; without it, PO lines only. */
  sru: sruUrl.optional(),
  apiKey: secretRef,
  timeZone: z.string().default('UTC'),
  /** The institution's per-second threshold (Alma's governance says 25; UNCONFIRMED, so configurable). */
  perSecondThreshold: z.number().int().positive().default(25),
  /** The share of that threshold this project may use across all its workers (other integrations share it). */
  budgetShare: z.number().gt(0).max(1).default(0.4),
  /**
   * How many worker processes call this institution's Alma. The server's task-queue limit bounds activity
   * starts for all of them; each process also spaces its own calls to share ÷ this, so that long activities
   * (the overlay) and retries stay inside the share too.
   */
  workerProcesses: z.number().int().positive().default(1),
  /** Hour (UTC) at which Alma's daily budget is expected to reset (reported to people; probing decides). */
  dailyResetHourUtc: z.number().int().min(0).max(23).default(0),
  /** While the daily budget is spent: how often one call asks Alma whether it is back. */
  dailyProbeInterval: duration.prefault('5m'),
  /**
   * The day's budget and the floors read against X-Exl-Api-Remaining (docs/api-budget.md): below `deferBelow`
   * of the day, calls that can wait (overlay, polling) are held; below `orderBelow`, ordering too.
   */
  apiBudget: z
    .strictObject({
      /** Calls per day Alma allows the institution (1,000 per named-user licence); without it, the highest count seen. */
      daily: z.number().int().positive().optional(),
      deferBelow: z.number().gt(0).lt(1).default(0.1),
      orderBelow: z.number().min(0).lt(1).default(0.02),
    })
    .refine((b) => b.orderBelow < b.deferBelow, {
      error: 'orderBelow must be lower than deferBelow (ordering is the last to stop)',
      path: ['orderBelow'],
    })
    .prefault({}),
  requestTimeout: duration.prefault(30_000),
  /**
   * After a POST whose answer was lost (timeout, 5xx, cut connection), how long to wait before concluding from
   * a search that Alma did not take it. A lost answer is rare, and waiting minutes then is harmless for a
   * library order; buying twice is not. At least twice the request timeout is used whatever is set.
   */
  settleTime: duration.prefault('3m'),
  /** Retries of Alma calls (outage, 5xx): first wait and longest wait, doubling in between. */
  retryInitial: duration.prefault('2s'),
  retryMax: duration.prefault('10m'),
  statusCodes: poLineStatusCodes.prefault({}),
});
export type Institution = z.infer<typeof institution>;

const marcField = z.string().regex(/^9\d\d\$[a-z0-9]$/, 'a 9XX tag and subfield, e.g. 980$a');

export const account = z.strictObject({
  name: z.string().min(1),
  institution: code,
  alma: z.strictObject({
    profileCode: z.string().optional(),
    vendorCode: code,
    vendorAccount: code,
    acquisitionMethod: z.string().default('VENDOR_SYSTEM'),
    poLineType: z.strictObject({ print: z.string().min(1), ebook: z.string().min(1) }),
    materialType: z.string().default('BOOK'),
    vendorReferenceNumberType: z.string().default('SLI'),
    cancellationReason: z.string().min(1),
    /** The owning library for orders without a location (ebooks). */
    defaultOwner: code,
  }),
  /** `api` (real time) or `edi`, per account and per order type. */
  ordering: z
    .strictObject({
      default: z.enum(['api', 'edi']).default('api'),
      orderTypes: z.partialRecord(z.enum(['firm', 'standing']), z.enum(['api', 'edi'])).default({}),
    })
    .prefault({}),
  currencies: z.array(z.string().regex(/^[A-Z]{3}$/)).min(1),
  funds: z.array(code).default([]),
  libraries: z.record(code, z.strictObject({ locations: z.array(code).min(1) })).default({}),
  /** "location MAIN/MATH accepts only funds ...": a location without a rule accepts every fund. */
  fundLocationRules: z
    .array(z.strictObject({ library: code, location: code, funds: z.array(code).min(1) }))
    .default([]),
  /** CSV files the library sends (read at start-up, merged into the lists above). */
  csv: z
    .strictObject({
      funds: z.string().optional(),
      locations: z.string().optional(),
      rules: z.string().optional(),
    })
    .optional(),
  email: z
    .strictObject({
      confirmation: z.boolean().default(true),
      from: z.email(),
      staff: z.array(z.email()).default([]),
    })
    .strict(),
  followUp: z
    .strictObject({
      firstLookDelay: duration.prefault('30s'),
      bibPollInterval: duration.prefault('30s'),
      bibPollTimeout: duration.prefault('6h'),
      statusWithin: duration.prefault('14d'),
      invoiceWithin: duration.prefault('90d'),
      recordWithin: duration.prefault('7d'),
      followAtMost: duration.prefault('365d'),
      /**
       * How often a PO line is read during FOLLOWING_UP (one GET per order per period): Alma may put it In
       * Review, or take it out, after the POST. At least a minute; the workflow also checks at most 1,000 times
       * over followAtMost, to keep its history small.
       */
      poLineCheckEvery: duration
        .refine((ms) => ms >= 60_000, 'at least a minute (one Alma call per order per period)')
        .prefault('1d'),
      /** A line still In Review this long after it was first seen there raises IN_REVIEW_LATE. */
      inReviewWithin: duration.prefault('2d'),
    })
    .prefault({}),
  /**
   * Before ordering, look in Alma for the same title (docs/order-path.md, HELD): `warn` goes on with the alert
   * POSSIBLE_DUPLICATE, `hold` waits for staff to release or cancel it, at most duplicateHoldFor (then cancels).
   */
  duplicateCheck: z.enum(['off', 'warn', 'hold']).default('off'),
  duplicateHoldFor: duration.prefault('7d'),
  /** Retries of the EDI and overlay runs (file server down, Alma busy): first and longest wait. */
  followUpRetry: z
    .strictObject({ initial: duration.prefault('5s'), max: duration.prefault('2m') })
    .prefault({}),
  edi: z
    .strictObject({
      source: fileSource.optional(),
      every: duration.prefault('15m'),
      /** Invoice unit price may differ from the order's list price by this fraction before it is flagged. */
      priceTolerance: z.number().min(0).max(1).default(0.05),
    })
    .prefault({}),
  /**
   * A daily digest to `email.staff` of the orders and vendor files that need them (src/digest), at `at` (HH:MM)
   * in `timeZone` (default: the institution's). Absent: no digest.
   */
  digest: z
    .strictObject({
      at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day as HH:MM'),
      timeZone: z.string().refine(isTimeZone, 'an IANA time zone such as Europe/Berlin').optional(),
      /** A digest missed (server down) is still sent this long after its time; later, the next day's comes. */
      catchupWindow: duration.prefault('6h'),
    })
    .optional(),
  marc: z
    .strictObject({
      source: fileSource.optional(),
      /** Time of day (HH:MM) in the institution's time zone. */
      at: z
        .string()
        .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day as HH:MM')
        .default('02:30'),
      catchupWindow: duration.prefault('6h'),
      excludeTags: z.array(z.string().regex(/^[0-9X]{3}$/)).default([]),
      /** Tags of the library's own fields, kept from the current bib on overlay. */
      localTags: z.array(z.string().regex(/^[0-9X]{3}$/)).default(['9XX']),
      fields: z
        .strictObject({
          orderId: marcField.optional(),
          poLine: marcField.optional(),
          fund: marcField.optional(),
          location: marcField.optional(),
          notes: marcField.optional(),
        })
        .default({}),
    })
    .prefault({}),
});
export type Account = z.infer<typeof account>;

export const configFile = z
  .strictObject({
    institutions: z.record(code, institution),
    accounts: z.record(code, account),
  })
  .superRefine((cfg, ctx) => {
    for (const [name, acc] of Object.entries(cfg.accounts)) {
      if (!own(cfg.institutions, acc.institution)) {
        ctx.addIssue({
          code: 'custom',
          path: ['accounts', name, 'institution'],
          message: `institution "${acc.institution}" is not defined under institutions`,
        });
      }
    }
  });
export type ConfigFileInput = z.input<typeof configFile>;
export type Config = z.infer<typeof configFile>;
