/** The SSRF guard's address rules and allow-list (pure functions, no sockets). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressBytes, allowsAddress, allowsUrl, blockedReason, parseAllowList, prefixPath } from './ssrf.js';

describe('blockedReason', () => {
  const cases: [string, string | null][] = [
    ['127.0.0.1', 'loopback'], ['127.255.3.4', 'loopback'], ['::1', 'loopback'],
    ['10.0.0.1', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'], ['fc00::1', 'private'], ['fd12:3456::1', 'private'],
    ['169.254.1.1', 'link-local'], ['fe80::1', 'link-local'], ['fe80::1%eth0', 'link-local'],
    ['224.0.0.1', 'multicast'], ['239.1.2.3', 'multicast'], ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'], ['::', 'unspecified'], ['0.1.2.3', 'unspecified'],
    ['169.254.169.254', 'metadata'], ['fd00:ec2::254', 'metadata'], ['100.100.100.200', 'metadata'],
    ['255.255.255.255', 'reserved'], ['240.0.0.1', 'reserved'],
    // IPv6 forms that embed an IPv4 address are judged by it.
    ['::ffff:127.0.0.1', 'loopback'], ['::ffff:7f00:1', 'loopback'], ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'metadata'], ['::127.0.0.1', 'loopback'], ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['2002:7f00:1::', 'loopback'], ['2002:0a00:0001::1', 'private'],
    // Public addresses pass.
    ['8.8.8.8', null], ['172.32.0.1', null], ['100.128.0.1', null], ['2606:4700::1111', null], ['::ffff:8.8.8.8', null],
    ['2002:0808:0808::1', null],
    // Not an IP: refused (the connector only judges resolved addresses).
    ['example.com', 'reserved'],
  ];
  for (const [ip, reason] of cases) {
    test(`${ip} → ${reason ?? 'public'}`, () => assert.equal(blockedReason(ip), reason));
  }

  test('addressBytes reads IPv6 with an embedded IPv4 tail and brackets', () => {
    assert.deepEqual(addressBytes('[::ffff:1.2.3.4]'), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4]);
    assert.equal(addressBytes('1.2.3'), null);
    assert.equal(addressBytes('host'), null);
  });
});

describe('the allow-list (FLOWGATE_HTTP_ALLOW)', () => {
  const list = parseAllowList('127.0.0.1, api.internal ,hooks.internal:8443, [::1]:9000, 10.1.0.0/16, http://192.168.1.5:8080/hooks/');

  test('host names allow the URL whatever it resolves to; with a port, only that port', () => {
    assert.equal(allowsUrl(list, new URL('https://api.internal/x')), true);
    assert.equal(allowsUrl(list, new URL('http://API.internal:81/x')), true);
    assert.equal(allowsUrl(list, new URL('https://hooks.internal:8443/x')), true);
    assert.equal(allowsUrl(list, new URL('https://hooks.internal/x')), false);
    assert.equal(allowsUrl(list, new URL('https://other.internal/x')), false);
  });

  test('URL prefixes allow URLs that start with them (after normalization)', () => {
    assert.equal(allowsUrl(list, new URL('http://192.168.1.5:8080/hooks/a?b=1')), true);
    assert.equal(allowsUrl(list, new URL('http://192.168.1.5:8080/other')), false);
    assert.equal(allowsUrl(list, new URL('http://192.168.1.5:8081/hooks/a')), false);
  });

  test('IP entries are judged on the connected address, with an optional port and prefix length', () => {
    assert.equal(allowsUrl(list, new URL('http://127.0.0.1/')), false, 'IP literals are judged by address, not by URL');
    assert.equal(allowsAddress(list, '127.0.0.1', 80), true);
    assert.equal(allowsAddress(list, '::ffff:127.0.0.1', 80), true, 'an IPv4-mapped form matches the IPv4 entry');
    assert.equal(allowsAddress(list, '127.0.0.2', 80), false);
    assert.equal(allowsAddress(list, '::1', 9000), true);
    assert.equal(allowsAddress(list, '::1', 9001), false);
    assert.equal(allowsAddress(list, '10.1.200.3', 443), true);
    assert.equal(allowsAddress(list, '10.2.0.1', 443), false);
  });

  test('entries it cannot read are an error, not silently ignored', () => {
    assert.throws(() => parseAllowList('http://['), /FLOWGATE_HTTP_ALLOW/);
    assert.throws(() => parseAllowList('10.0.0.0/40'), /prefix length/);
    assert.throws(() => parseAllowList('bad host!'), /cannot read/);
    assert.deepEqual(parseAllowList('').source, []);
    assert.deepEqual(parseAllowList(' , ').source, []);
  });
});

/**
 * URL hosts in every spelling people use to smuggle an address (decimal, octal, hex, short forms,
 * percent-encoded and full-width digits, bracketed IPv6 with embedded IPv4 tails), judged as the
 * connector judges them: the URL parser's canonical host, then blockedReason. Nothing connects.
 */
describe('a table of address forms, as URL hosts', () => {
  const table: [string, string | null][] = [
    // Loopback, spelled every way.
    ['127.0.0.1', 'loopback'], ['2130706433', 'loopback'], ['017700000001', 'loopback'], ['0x7f000001', 'loopback'],
    ['0x7f.1', 'loopback'], ['0177.0.0.1', 'loopback'], ['127.1', 'loopback'], ['127.0.0.1.', 'loopback'],
    ['0x7F.0.0.01', 'loopback'], ['%31%32%37.0.0.1', 'loopback'], ['\uff11\uff12\uff17.0.0.1', 'loopback'], ['127.255.255.254', 'loopback'],
    ['[::1]', 'loopback'], ['[0:0:0:0:0:0:0:1]', 'loopback'], ['[0000::0001]', 'loopback'],
    ['[::ffff:127.0.0.1]', 'loopback'], ['[::ffff:7f00:1]', 'loopback'], ['[0:0:0:0:0:ffff:7f00:1]', 'loopback'],
    ['[::ffff:0:7f00:1]', 'loopback'], ['[::ffff:0:127.0.0.1]', 'loopback'], ['[::127.0.0.1]', 'loopback'],
    ['[2002:7f00:1::]', 'loopback'], ['[64:ff9b::7f00:1]', 'loopback'], ['[64:ff9b::127.0.0.1]', 'loopback'],
    // Cloud metadata.
    ['169.254.169.254', 'metadata'], ['2852039166', 'metadata'], ['0xa9.0xfe.0xa9.0xfe', 'metadata'], ['0251.0376.0251.0376', 'metadata'],
    ['0xa9fea9fe', 'metadata'], ['[::ffff:169.254.169.254]', 'metadata'], ['[::ffff:a9fe:a9fe]', 'metadata'], ['[::ffff:0:a9fe:a9fe]', 'metadata'],
    ['[64:ff9b::169.254.169.254]', 'metadata'], ['[2002:a9fe:a9fe::1]', 'metadata'], ['[fd00:ec2::254]', 'metadata'],
    ['100.100.100.200', 'metadata'], ['168.63.129.16', 'metadata'], ['169.254.170.2', 'metadata'],
    // Private networks.
    ['10.0.0.1', 'private'], ['012.0.0.1', 'private'], ['0xa.1', 'private'], ['167772161', 'private'], ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'], ['192.168.0.1', 'private'], ['0xc0.0xa8.1', 'private'], ['100.64.0.1', 'private'],
    ['[fc00::1]', 'private'], ['[fd12:3456::1]', 'private'], ['[fec0::1]', 'private'], ['[::ffff:10.0.0.1]', 'private'],
    ['[::ffff:0:a00:1]', 'private'], ['[2002:a00:1::1]', 'private'], ['[64:ff9b::a00:1]', 'private'], ['[::ffff:192.168.1.1]', 'private'],
    // Link-local, multicast, unspecified, broadcast.
    ['169.254.1.1', 'link-local'], ['[fe80::1]', 'link-local'], ['[febf::1]', 'link-local'], ['[::ffff:169.254.1.1]', 'link-local'],
    ['224.0.0.1', 'multicast'], ['239.255.255.250', 'multicast'], ['[ff02::1]', 'multicast'], ['[ff05::1:3]', 'multicast'],
    ['0.0.0.0', 'unspecified'], ['0', 'unspecified'], ['0.1.2.3', 'unspecified'], ['[::]', 'unspecified'], ['[::ffff:0.0.0.0]', 'unspecified'],
    ['255.255.255.255', 'reserved'], ['4294967295', 'reserved'], ['240.0.0.1', 'reserved'],
    // Documentation (TEST-NET), benchmarking and other reserved ranges.
    ['192.0.2.1', 'reserved'], ['198.51.100.7', 'reserved'], ['203.0.113.9', 'reserved'], ['3405803785', 'reserved'],
    ['[::ffff:192.0.2.1]', 'reserved'], ['198.18.0.1', 'reserved'], ['198.19.255.255', 'reserved'], ['192.0.0.8', 'reserved'],
    ['192.88.99.1', 'reserved'], ['[2001:db8::1]', 'reserved'], ['[3fff::1]', 'reserved'], ['[2001:2::1]', 'reserved'],
    ['[100::1]', 'reserved'], ['[5f00::1]', 'reserved'], ['[2001:20::1]', 'reserved'], ['[1::]', 'reserved'], ['[4000::1]', 'reserved'],
    // Teredo (whatever it embeds), local-use NAT64, IPv4-compatible: never public.
    ['[2001::1]', 'reserved'], ['[2001:0:4136:e378:8000:63bf:3fff:fdd2]', 'reserved'], ['[2001:0:7f00:1::]', 'reserved'],
    ['[2001:0:808:808:0:0:f5ff:fffe]', 'reserved'], ['[64:ff9b:1::808:808]', 'reserved'], ['[::808:808]', 'reserved'],
    // Public.
    ['8.8.8.8', null], ['134744072', null], ['0x8.0x8.0x8.0x8', null], ['010.010.010.010', null], ['1.1.1.1', null],
    ['172.32.0.1', null], ['100.128.0.1', null], ['192.0.3.1', null], ['198.51.101.1', null], ['203.0.114.1', null],
    ['[2606:4700:4700::1111]', null], ['[2a00:1450:4001:81b::200e]', null], ['[::ffff:8.8.8.8]', null],
    ['[::ffff:0:808:808]', null], ['[2002:808:808::1]', null], ['[64:ff9b::808:808]', null],
  ];

  test(`${table.length} spellings, each judged as expected`, () => {
    assert.ok(table.length >= 40);
    const wrong: string[] = [];
    for (const [spelling, expected] of table) {
      const host = new URL(`http://${JSON.parse(`"${spelling}"`)}/`).hostname;
      const got = blockedReason(host);
      if (got !== expected) wrong.push(`${spelling} (${host}): ${got ?? 'public'}, expected ${expected ?? 'public'}`);
    }
    assert.deepEqual(wrong, []);
  });

  test('addresses as resolvers answer them: zone ids, no brackets; what is not an address is refused', () => {
    const answers: [string, string | null][] = [
      ['fe80::1%eth0', 'link-local'], ['fe80::1%1', 'link-local'], ['::ffff:0:7f00:1', 'loopback'], ['2001:db8::1%2', 'reserved'],
      ['2001::53', 'reserved'], ['192.0.2.10', 'reserved'], ['::ffff:0:a9fe:a9fe', 'metadata'], ['2606:4700::1111', null],
      ['1.2.3.4%eth0', 'reserved'], ['01.2.3.4', 'reserved'], ['127.1', 'reserved'], ['', 'reserved'], ['localhost', 'reserved'],
    ];
    for (const [ip, expected] of answers) assert.equal(blockedReason(ip), expected, ip);
  });

  test('a zone id in a URL is not a URL: such a step fails before anything is resolved', () => {
    assert.throws(() => new URL('http://[fe80::1%25eth0]/'));
    assert.throws(() => new URL('http://[fe80::1%eth0]/'));
  });
});

describe('URL prefix entries compare normalised paths', () => {
  const list = parseAllowList('http://192.168.1.5:8080/hooks/, http://192.168.1.5:8080/api');
  const allowed = (path: string): boolean => allowsUrl(list, new URL(`http://192.168.1.5:8080${path}`));

  test('encoded slashes and backslashes, and dot segments in any spelling, never pass a prefix', () => {
    for (const path of [
      '/hooks/%2E%2E%2Fx', '/hooks/%2e%2e%2fx', '/hooks/..%2Fadmin', '/hooks/a%2Fb', '/hooks/%5C..%5Cadmin', '/hooks/a%5cb',
      '/hooks/../admin', '/hooks/%2E%2E/admin', '/hooks/.%2e/admin', '/hooks\\..\\admin', '/api/%2E%2E%2Fadmin', '/api%2F..%2Fadmin',
    ]) assert.equal(allowed(path), false, path);
  });

  test('escapes of unreserved characters are decoded before matching; the match is at a path boundary', () => {
    assert.equal(allowed('/hooks/'), true);
    assert.equal(allowed('/hooks/a?b=1'), true);
    assert.equal(allowed('/hooks/%61'), true);
    assert.equal(allowed('/%68ooks/a'), true);
    assert.equal(allowed('/hooks/a%20b'), true);
    assert.equal(allowed('/hooks'), false, 'not under /hooks/');
    assert.equal(allowed('/api'), true);
    assert.equal(allowed('/api/x'), true);
    assert.equal(allowed('/api?x=1'), true);
    assert.equal(allowed('/apix'), false, 'a prefix without a trailing slash ends at a segment boundary');
    assert.equal(allowsUrl(list, new URL('http://u:p@192.168.1.5:8080/hooks/a')), false);
    assert.equal(allowsUrl(list, new URL('https://192.168.1.5:8080/hooks/a')), false);
  });

  test('prefixPath; a prefix entry holding an encoded slash or a dot segment is a configuration error', () => {
    assert.equal(prefixPath('/a/%7e%41%2d/b%2a'), '/a/~A-/b%2A');
    assert.equal(prefixPath('/a/%2f'), null);
    assert.equal(prefixPath('/a/%2E%2E/b'), null);
    assert.throws(() => parseAllowList('http://h/hooks%2F/'), /encoded slash/);
    assert.throws(() => parseAllowList('http://h/hooks/#x'), /fragment/);
  });
});
