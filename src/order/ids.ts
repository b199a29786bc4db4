/**
 * Deterministic Message-IDs: a retried send of the same confirmation or alert carries the same Message-ID,
 * so mail clients and archives can recognise the duplicate.
 */

export const DEFAULT_MESSAGE_ID_DOMAIN = 'oasis-alma-rto.invalid';

// Letters, digits, "_" and "-" pass; every other UTF-8 byte (including "." which separates the parts and "="
// which marks an escape) becomes =XX, so distinct inputs give distinct IDs and the result is a valid dot-atom.
function encodePart(text: string): string {
  if (text === '') return '=';
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(c) ? c : '=' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function checkDomain(domain: string): string {
  if (
    !/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(
      domain,
    )
  ) {
    throw new Error(`"${encodePart(domain)}" is not a valid Message-ID domain`);
  }
  return domain;
}

/** `<order.ACCOUNT.ORDERID@domain>` for the librarian's order confirmation. */
export function confirmationMessageId(
  account: string,
  orderId: string,
  domain = DEFAULT_MESSAGE_ID_DOMAIN,
): string {
  return `<order.${encodePart(account)}.${encodePart(orderId)}@${checkDomain(domain)}>`;
}

/** `<alert.ACCOUNT.ORDERID.ALERT@domain>` for a staff alert about one order. */
export function alertMessageId(
  account: string,
  orderId: string,
  alert: string,
  domain = DEFAULT_MESSAGE_ID_DOMAIN,
): string {
  return `<alert.${encodePart(account)}.${encodePart(orderId)}.${encodePart(alert)}@${checkDomain(domain)}>`;
}
