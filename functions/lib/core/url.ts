/**
 * Host handling for registry addresses. The registry's nginx uses `proxy_pass_url` verbatim and
 * the health check appends `/mcp`, so a rewrite swaps the host (and, when asked, the port) and
 * leaves the scheme, path, query and trailing slash exactly as they were.
 */

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** True for a dotted-quad IPv4 address such as `10.0.3.17`. */
export function isIPv4(host: string): boolean {
  return IPV4.test(host);
}

/** The parts of an absolute http(s) URL, split by hand so that nothing is normalised away. */
export interface UrlParts {
  /** `http://` or `https://` (as written). */
  scheme: string;
  /** `user:pass@` or empty. */
  userinfo: string;
  host: string;
  /** The port as written, without the colon; empty when absent. */
  port: string;
  /** Everything from the first `/`, `?` or `#` after the authority; may be empty. */
  rest: string;
}

const URL_SHAPE = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^/?#@]*@)?(\[[^\]]*\]|[^/?#:]*)(?::(\d*))?([/?#].*)?$/s;

/** The parts of a URL plus whether a port colon was written (`http://h:/` keeps its empty port). */
function matchUrl(url: string): { parts: UrlParts; portColon: boolean } | undefined {
  const m = URL_SHAPE.exec(url);
  if (!m) return undefined;
  const [, scheme = '', userinfo = '', host = '', port, rest = ''] = m;
  if (host === '') return undefined;
  // The port group takes part in the match exactly when a colon follows the host.
  return { parts: { scheme, userinfo, host, port: port ?? '', rest }, portColon: port !== undefined };
}

/** Splits a URL into its parts, or returns undefined when it is not an absolute URL with a host. */
export function splitUrl(url: string): UrlParts | undefined {
  return matchUrl(url)?.parts;
}

/** The host of a URL in lower case, or undefined when the URL has none. */
export function hostOf(url: string): string | undefined {
  return splitUrl(url)?.host.toLowerCase();
}

/**
 * Replaces the host of `url` (and its port when `port` is given), keeping everything else as
 * written. Throws when `url` has no host.
 */
export function swapHost(url: string, host: string, port?: number): string {
  const m = matchUrl(url);
  if (!m) throw new Error(`not an absolute URL with a host: ${JSON.stringify(url)}`);
  const { parts, portColon } = m;
  const newPort = port === undefined ? parts.port : String(port);
  // Taken from the same match as the parts, so the colon of `user:pass@` is never taken for a
  // port colon (which would write `http://user:pass@10.0.3.17:/`).
  const portPart = newPort !== '' || (port === undefined && portColon) ? `:${newPort}` : '';
  return `${parts.scheme}${parts.userinfo}${host}${portPart}${parts.rest}`;
}

/**
 * A host as compared: lower case, without the trailing dot of a fully qualified name
 * (`10.0.1.11.` and `CurrentTime-Server.` name the same host as `10.0.1.11` and `currenttime-server`).
 * Every comparison of hosts goes through this.
 */
export function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

/** The names one registry entry's host goes by: its current host and the target's Cloud Map names. */
export interface HostForms {
  /** The host of the entry's current address (an IP or a name), as written. */
  entryHost: string;
  /** The target's Cloud Map service (`currenttime-server`). */
  cloudMapService: string;
  /** The Cloud Map namespace (`mcp-gateway.local`). */
  namespace: string;
}

/**
 * Whether `host` is a form of the entry's host or of the target: the entry's current host (the
 * old IP), the short name or `<name>.<namespace>`, in any letter case, with or without a trailing
 * dot. `mcp_endpoint` and `sse_endpoint` whose host is such a form follow the address when it moves.
 */
export function isHostForm(host: string, forms: HostForms): boolean {
  const h = normalizeHost(host);
  if (h === '') return false;
  const name = normalizeHost(forms.cloudMapService);
  return (
    h === normalizeHost(forms.entryHost) || h === name || h === `${name}.${normalizeHost(forms.namespace)}`
  );
}
