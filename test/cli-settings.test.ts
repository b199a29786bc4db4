/**
 * Where Temporal is, as every part reads it from the environment: one truth. TEMPORAL_PORT alone moves the
 * address too (rto, the workers and `npm start`'s dev server all follow it); TEMPORAL_ADDRESS alone gives the
 * port; both set must agree.
 */
import { ConfigError } from '../src/config/load';
import { loadSettings, portOf } from '../src/config/settings';

describe('TEMPORAL_ADDRESS and TEMPORAL_PORT', () => {
  test('neither set: 127.0.0.1:7233', () => {
    const s = loadSettings({});
    expect(s.TEMPORAL_ADDRESS).toBe('127.0.0.1:7233');
    expect(s.TEMPORAL_PORT).toBe(7233);
  });

  test('only TEMPORAL_PORT moved: the address follows it', () => {
    const s = loadSettings({ TEMPORAL_PORT: '7444' });
    expect(s.TEMPORAL_ADDRESS).toBe('127.0.0.1:7444');
    expect(s.TEMPORAL_PORT).toBe(7444);
    // Empty means unset, as for every setting.
    expect(loadSettings({ TEMPORAL_PORT: '7444', TEMPORAL_ADDRESS: '' }).TEMPORAL_ADDRESS).toBe(
      '127.0.0.1:7444',
    );
  });

  test('only TEMPORAL_ADDRESS set: it wins, and the dev server port is its port', () => {
    expect(loadSettings({ TEMPORAL_ADDRESS: '127.0.0.1:9000' })).toMatchObject({
      TEMPORAL_ADDRESS: '127.0.0.1:9000',
      TEMPORAL_PORT: 9000,
    });
    expect(loadSettings({ TEMPORAL_ADDRESS: 'temporal:7233' })).toMatchObject({
      TEMPORAL_ADDRESS: 'temporal:7233',
      TEMPORAL_PORT: 7233,
    });
  });

  test('both set: they must agree', () => {
    expect(loadSettings({ TEMPORAL_ADDRESS: 'localhost:7444', TEMPORAL_PORT: '7444' })).toMatchObject({
      TEMPORAL_ADDRESS: 'localhost:7444',
      TEMPORAL_PORT: 7444,
    });
    expect(() => loadSettings({ TEMPORAL_ADDRESS: '127.0.0.1:7233', TEMPORAL_PORT: '7444' })).toThrow(
      ConfigError,
    );
    expect(() => loadSettings({ TEMPORAL_ADDRESS: '127.0.0.1:7233', TEMPORAL_PORT: '7444' })).toThrow(
      /TEMPORAL_ADDRESS \(127\.0\.0\.1:7233\) and TEMPORAL_PORT \(7444\)/,
    );
  });

  test('a bad port is an error naming the setting', () => {
    expect(() => loadSettings({ TEMPORAL_PORT: 'seven' })).toThrow(/TEMPORAL_PORT/);
    expect(() => loadSettings({ TEMPORAL_PORT: '70000' })).toThrow(/TEMPORAL_PORT/);
  });

  test('portOf', () => {
    expect(portOf('127.0.0.1:7233')).toBe(7233);
    expect(portOf('temporal.example.org:443')).toBe(443);
    expect(portOf('[::1]:7233')).toBe(7233);
    expect(portOf('temporal')).toBeUndefined();
    expect(portOf('::1')).toBeUndefined();
    expect(portOf('host:99999')).toBeUndefined();
  });
});
