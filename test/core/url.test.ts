/**
 * url.ts: the registry uses proxy_pass_url verbatim, so a rewrite must change the host (and the
 * port only when asked) and leave every other character as written.
 */
import fc from 'fast-check';
import { hostOf, isHostForm, isIPv4, normalizeHost, splitUrl, swapHost } from '../../functions/lib/core/url';
import { rewriteEndpoint } from '../../functions/lib/registry/rewrite';

describe('swapHost', () => {
  test.each([
    // short Service Connect names, with and without trailing slash and path
    ['http://currenttime-server:8000/', 'http://10.0.3.17:8000/'],
    ['http://currenttime-server:8000', 'http://10.0.3.17:8000'],
    ['http://currenttime-server:8000/mcp', 'http://10.0.3.17:8000/mcp'],
    ['http://currenttime-server:8000/a/b/', 'http://10.0.3.17:8000/a/b/'],
    // FQDNs of the older DNS-type namespaces
    ['http://currenttime-server.mcp-gateway.local:8000', 'http://10.0.3.17:8000'],
    ['https://currenttime-server.mcp-gateway.local/', 'https://10.0.3.17/'],
    // IPs (a previous rewrite)
    ['http://10.0.1.5:8000/', 'http://10.0.3.17:8000/'],
    // no port
    ['http://mcpgw-server/', 'http://10.0.3.17/'],
    ['http://mcpgw-server', 'http://10.0.3.17'],
    // query and fragment, with characters that look like authority parts
    ['http://svc:8000/p?x=1&y=a@b:c#frag', 'http://10.0.3.17:8000/p?x=1&y=a@b:c#frag'],
    ['http://svc?next=http://other:1/', 'http://10.0.3.17?next=http://other:1/'],
    ['http://svc#a:b', 'http://10.0.3.17#a:b'],
    // userinfo, with and without password and port
    ['http://user@svc:8000/', 'http://user@10.0.3.17:8000/'],
    ['http://user:pa%40ss@svc:8000/', 'http://user:pa%40ss@10.0.3.17:8000/'],
    ['http://user:pass@svc/x', 'http://user:pass@10.0.3.17/x'],
    ['http://user:@svc', 'http://user:@10.0.3.17'],
    // case of scheme and host, encoded path kept as written
    ['HTTP://CurrentTime-Server:8000/A%2Fb/', 'HTTP://10.0.3.17:8000/A%2Fb/'],
    // an empty port stays as written
    ['http://svc:/x', 'http://10.0.3.17:/x'],
    // IPv6 literal host
    ['http://[fd00::1]:8000/', 'http://10.0.3.17:8000/'],
  ])('%s → %s', (url, expected) => {
    expect(swapHost(url, '10.0.3.17')).toBe(expected);
  });

  test.each([
    ['http://currenttime-server:8000/', 'http://10.0.3.17:9001/'],
    ['http://currenttime-server/', 'http://10.0.3.17:9001/'],
    ['http://svc', 'http://10.0.3.17:9001'],
    ['http://user:pass@svc/x?q', 'http://user:pass@10.0.3.17:9001/x?q'],
    ['http://svc:/x', 'http://10.0.3.17:9001/x'],
  ])('instance-port override: %s → %s', (url, expected) => {
    expect(swapHost(url, '10.0.3.17', 9001)).toBe(expected);
  });

  test('throws on a URL without a host, naming it', () => {
    expect(() => swapHost('not a url', '10.0.0.1')).toThrow('not an absolute URL with a host: "not a url"');
    expect(() => swapHost('http:///path', '10.0.0.1')).toThrow(/not an absolute URL/);
    expect(() => swapHost('/relative/path', '10.0.0.1')).toThrow(/not an absolute URL/);
  });

  test('property: only the host (and the port, when given) changes', () => {
    const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
    const host = fc.array(label, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('.'));
    const rest = fc.constantFrom('', '/', '/mcp', '/a/b/', '?q=1', '/p?x=a@b:c#f', '#frag');
    const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined, freq: 2 });
    const userinfo = fc.constantFrom('', 'u@', 'u:p@');
    fc.assert(
      fc.property(
        fc.constantFrom('http://', 'https://'),
        userinfo,
        host,
        port,
        rest,
        port,
        (scheme, user, h, p, r, newPort) => {
          const url = `${scheme}${user}${h}${p === undefined ? '' : `:${p}`}${r}`;
          const out = swapHost(url, '10.1.2.3', newPort);
          const finalPort = newPort ?? p;
          expect(out).toBe(`${scheme}${user}10.1.2.3${finalPort === undefined ? '' : `:${finalPort}`}${r}`);
          expect(splitUrl(out)).toEqual({
            scheme,
            userinfo: user,
            host: '10.1.2.3',
            port: finalPort === undefined ? '' : String(finalPort),
            rest: r,
          });
        },
      ),
    );
  });
});

describe('rewriteEndpoint (mcp_endpoint / sse_endpoint)', () => {
  test.each([
    // same host: follows, keeping its own path
    [
      'http://svc:8000/custom/mcp',
      'http://svc:8000/',
      'http://10.0.0.2:8000/',
      'http://10.0.0.2:8000/custom/mcp',
    ],
    // the address's port changed and the endpoint used it: the port follows too
    ['http://svc:8000/mcp', 'http://svc:8000/', 'http://10.0.0.2:9000/', 'http://10.0.0.2:9000/mcp'],
    // the endpoint had its own port: kept
    ['http://svc:8100/sse', 'http://svc:8000/', 'http://10.0.0.2:9000/', 'http://10.0.0.2:8100/sse'],
    // another host: untouched
    ['http://gateway:80/mcp', 'http://svc:8000/', 'http://10.0.0.2:8000/', 'http://gateway:80/mcp'],
    // from an IP to another IP
    [
      'http://10.0.0.1:8000/mcp',
      'http://10.0.0.1:8000/',
      'http://10.0.0.2:8000/',
      'http://10.0.0.2:8000/mcp',
    ],
  ])('%s with %s → %s gives %s', (endpoint, oldUrl, newUrl, expected) => {
    expect(rewriteEndpoint(endpoint, oldUrl, newUrl)).toBe(expected);
  });

  describe('with the target host forms', () => {
    const forms = {
      entryHost: 'currenttime-server',
      cloudMapService: 'currenttime-server',
      namespace: 'mcp-gateway.local',
    };
    const oldUrl = 'http://currenttime-server:8000/';
    const newUrl = 'http://10.0.1.11:8000/';
    test.each([
      // the long name of the same Cloud Map service follows, in any case, with a trailing dot
      ['http://currenttime-server.mcp-gateway.local:8000/mcp', 'http://10.0.1.11:8000/mcp'],
      ['http://CurrentTime-Server.MCP-Gateway.local.:8000/mcp', 'http://10.0.1.11:8000/mcp'],
      ['http://currenttime-server.:8000/sse', 'http://10.0.1.11:8000/sse'],
      // another service's name, or another namespace: untouched
      ['http://realserverfaketools-server:8002/mcp', 'http://realserverfaketools-server:8002/mcp'],
      ['http://currenttime-server.other.local:8000/mcp', 'http://currenttime-server.other.local:8000/mcp'],
    ])('%s follows as %s', (endpoint, expected) => {
      expect(rewriteEndpoint(endpoint, oldUrl, newUrl, forms)).toBe(expected);
    });

    it('follows the old IP when the entry held one', () => {
      const fromIp = { ...forms, entryHost: '10.0.1.9' };
      expect(rewriteEndpoint('http://10.0.1.9.:8000/mcp', 'http://10.0.1.9:8000/', newUrl, fromIp)).toBe(
        'http://10.0.1.11:8000/mcp',
      );
    });

    it('without the forms, leaves the long name where it was (the address host differs)', () => {
      expect(rewriteEndpoint('http://currenttime-server.mcp-gateway.local:8000/mcp', oldUrl, newUrl)).toBe(
        'http://currenttime-server.mcp-gateway.local:8000/mcp',
      );
    });
  });
});

describe('splitUrl, hostOf, isIPv4', () => {
  test('splits without normalising', () => {
    expect(splitUrl('HTTPS://u:p@Host.Example:0443/A?b#c')).toEqual({
      scheme: 'HTTPS://',
      userinfo: 'u:p@',
      host: 'Host.Example',
      port: '0443',
      rest: '/A?b#c',
    });
    expect(splitUrl('http://h')).toEqual({ scheme: 'http://', userinfo: '', host: 'h', port: '', rest: '' });
    expect(splitUrl('http://h:x/')).toBeUndefined();
    expect(splitUrl('mailto:someone')).toBeUndefined();
  });

  test('hostOf lower-cases', () => {
    expect(hostOf('http://CurrentTime-Server:8000/')).toBe('currenttime-server');
    expect(hostOf('http://u:p@[FD00::1]:1/')).toBe('[fd00::1]');
    expect(hostOf('nope')).toBeUndefined();
  });

  test.each([
    ['10.0.3.17', true],
    ['0.0.0.0', true],
    ['255.255.255.255', true],
    ['256.0.0.1', false],
    ['10.0.3', false],
    ['10.0.3.17.1', false],
    ['010.0.0.1', false],
    ['currenttime-server', false],
    ['', false],
  ])('isIPv4(%j) is %s', (host, expected) => {
    expect(isIPv4(host)).toBe(expected);
  });
});

describe('normalizeHost', () => {
  it.each([
    ['10.0.1.11.', '10.0.1.11'],
    ['CurrentTime-Server.', 'currenttime-server'],
    ['currenttime-server.MCP-Gateway.local', 'currenttime-server.mcp-gateway.local'],
    ['10.0.1.11', '10.0.1.11'],
  ])('%s → %s', (host, expected) => {
    expect(normalizeHost(host)).toBe(expected);
  });
});

describe('isHostForm', () => {
  const forms = {
    entryHost: '10.0.1.11',
    cloudMapService: 'currenttime-server',
    namespace: 'mcp-gateway.local',
  };

  it.each([
    ['10.0.1.11', true],
    ['10.0.1.11.', true],
    ['currenttime-server', true],
    ['CurrentTime-Server', true],
    ['currenttime-server.', true],
    ['currenttime-server.mcp-gateway.local', true],
    ['CURRENTTIME-SERVER.MCP-GATEWAY.LOCAL.', true],
    ['10.0.1.12', false],
    ['currenttime-server.other.local', false],
    ['mcpgw-server', false],
    ['currenttime', false],
    ['', false],
  ])('%s → %s (entry on the old IP)', (host, expected) => {
    expect(isHostForm(host, forms)).toBe(expected);
  });

  it('takes the entry host itself in any spelling, whether an IP or a name', () => {
    expect(
      isHostForm('CurrentTime-Server.', { ...forms, entryHost: 'currenttime-server.mcp-gateway.local.' }),
    ).toBe(true);
    expect(isHostForm('10.0.1.11', { ...forms, entryHost: '10.0.1.11.' })).toBe(true);
  });

  it('holds for every spelling of every form, and for no other host (property)', () => {
    const spellings = (h: string) =>
      fc
        .tuple(fc.boolean(), fc.boolean())
        .map(([upper, dot]) => `${upper ? h.toUpperCase() : h}${dot ? '.' : ''}`);
    const form = fc
      .constantFrom('10.0.1.11', 'currenttime-server', 'currenttime-server.mcp-gateway.local')
      .chain(spellings);
    const other = fc
      .stringMatching(/^[a-z0-9.-]{1,30}$/)
      .filter(
        (h) =>
          !['10.0.1.11', 'currenttime-server', 'currenttime-server.mcp-gateway.local'].includes(
            normalizeHost(h),
          ),
      );
    fc.assert(
      fc.property(form, other, (yes, no) => {
        expect(isHostForm(yes, forms)).toBe(true);
        expect(isHostForm(no, forms)).toBe(false);
      }),
      { seed: 20261201, numRuns: 500 },
    );
  });
});
