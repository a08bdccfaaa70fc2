/** The SSRF guard's address rules and allow-list (pure functions, no sockets). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressBytes, allowsAddress, allowsUrl, blockedReason, parseAllowList } from './ssrf.js';

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
