import { type LookupAddress, lookup } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { AppError } from '@calgate/errors';

/**
 * Loopback, private, link-local, shared, documentation, multicast and reserved ranges (IPv4), and
 * within IPv6 global unicast the special-purpose ranges.
 */
const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  // The 6to4 relay anycast: whichever relay answers forwards into IPv4 space.
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv4');
}
// IETF protocol assignments (Teredo among them, which embeds an IPv4 address), documentation, and
// 6to4 (which embeds the IPv4 address it routes to).
for (const [network, prefix] of [
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv6');
}

/**
 * IPv6 global unicast. Everything outside it is refused whole rather than range by range, as
 * outside it every allocation is special: unspecified, loopback, IPv4-compatible (::/96), NAT64
 * (64:ff9b::/96, 64:ff9b:1::/48), discard, unique local, site-local, link-local, multicast, and
 * whatever is assigned there later.
 */
const GLOBAL_UNICAST = new BlockList();
GLOBAL_UNICAST.addSubnet('2000::', 3, 'ipv6');

/** An IPv4 address written as IPv6 (`::ffff:127.0.0.1`, `::ffff:7f00:1`), as IPv4. */
function embeddedIpv4(address: string): string | undefined {
  const match = /^::ffff:(.+)$/i.exec(address);
  if (match === null) return undefined;
  const rest = match[1] as string;
  if (isIP(rest) === 4) return rest;
  const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(rest);
  if (hex === null) return undefined;
  const value = (Number.parseInt(hex[1] as string, 16) << 16) | Number.parseInt(hex[2] as string, 16);
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');
}

/** Whether an IP address is loopback, private or otherwise not a public internet address. */
export function isPrivateAddress(address: string): boolean {
  const v4 = isIP(address) === 4 ? address : embeddedIpv4(address);
  if (v4 !== undefined) return PRIVATE.check(v4, 'ipv4');
  if (isIP(address) !== 6) return true;
  return !GLOBAL_UNICAST.check(address, 'ipv6') || PRIVATE.check(address, 'ipv6');
}

const invalid = (message: string) =>
  new AppError('VALIDATION_FAILED', message, { details: { field: 'url' } });

/** A URL's host without IPv6 brackets. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/**
 * Checks an endpoint URL when it is registered: http(s), no credentials in it, and a host that
 * resolves only to public addresses (unless private ones are allowed).
 * @throws AppError VALIDATION_FAILED naming `url`.
 */
export async function checkEndpointUrl(value: string, allowPrivate: boolean): Promise<URL> {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid('url must be an absolute http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid('url must use http or https');
  if (url.username !== '' || url.password !== '') throw invalid('url must not carry credentials');
  if (value.length > 2_000) throw invalid('url must be at most 2000 characters');
  if (allowPrivate) return url;
  const host = hostOf(url);
  const addresses = isIP(host) !== 0 ? [host] : await resolveAll(host).catch(() => undefined);
  if (addresses === undefined || addresses.length === 0) throw invalid(`url host ${host} does not resolve`);
  if (addresses.some(isPrivateAddress)) {
    throw invalid('url resolves to a private or loopback address, which is refused');
  }
  return url;
}

function resolveAll(host: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    lookup(host, { all: true }, (error, addresses: LookupAddress[]) => {
      if (error !== null) reject(error);
      else resolve(addresses.map((a) => a.address));
    });
  });
}

/** The error a refused address raises at delivery time (its code is recorded with the attempt). */
export class PrivateAddressError extends Error {
  readonly code = 'EPRIVATEADDRESS';
  constructor(host: string) {
    super(`${host} resolves to a private or loopback address`);
  }
}

type LookupCallback = (error: Error | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for `http.request` that refuses private addresses, so the address checked is the
 * address connected to (a DNS answer that changed since registration cannot reach inside).
 */
export function guardedLookup(
  hostname: string,
  options: { all?: boolean } & Record<string, unknown>,
  callback: LookupCallback,
): void {
  lookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error !== null) {
      callback(error, []);
      return;
    }
    const allowed = addresses.filter((a) => !isPrivateAddress(a.address));
    const first = allowed[0];
    if (first === undefined) callback(new PrivateAddressError(hostname), []);
    else if (options.all === true) callback(null, allowed);
    else callback(null, first.address, first.family);
  });
}

/** Refuses a URL whose host is a private IP literal (Node does not look literals up). */
export function assertPublicLiteral(url: URL): void {
  const host = hostOf(url);
  if (isIP(host) !== 0 && isPrivateAddress(host)) throw new PrivateAddressError(host);
  if (host === 'localhost' || host.endsWith('.localhost')) throw new PrivateAddressError(host);
}
