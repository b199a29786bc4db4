import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { localPathFor, remoteNameProblem, resolveInside, safeLocalName } from '../src/files/safe-name';

describe('remote names', () => {
  it.each([
    ['../../etc/passwd', 'contains a path separator'],
    ['..\\..\\x.edi', 'contains a path separator'],
    ['a..b', 'contains ".."'],
    ['..', 'contains ".."'],
    ['.', 'is "."'],
    ['', 'empty name'],
    ['a\u0000b', 'contains NUL'],
    ['a\r\nb', 'contains a line break'],
    ['x'.repeat(256), 'longer than 255 bytes'],
  ])('%j is refused: %s', (name, why) => {
    expect(remoteNameProblem(name)).toBe(why);
  });

  it.each(['INV001.edi', 'status 2.edi', 'Übersicht.mrc', '.profile', 'a.b.c'])('%j is accepted', (name) => {
    expect(remoteNameProblem(name)).toBeNull();
  });
});

describe('safeLocalName', () => {
  it.each([
    ['../../etc/passwd', 'passwd'],
    ['..\\..\\x.edi', 'x.edi'],
    ['INV 2024 (1).edi', 'INV_2024_1_.edi'],
    ['.hidden', 'hidden'],
    ['...', 'file'],
    ['', 'file'],
    ['a\u0000b\r\n.txt', 'ab.txt'],
    ['$(rm -rf ~).txt', 'rm_-rf_.txt'],
    ['Übersicht–ä.mrc', 'Übersicht_ä.mrc'],
    ['a..b.edi', 'a.b.edi'],
  ])('%j → %j', (remote, local) => {
    expect(safeLocalName(remote)).toBe(local);
  });

  it('keeps the extension of a long name within 120 characters', () => {
    const n = safeLocalName('x'.repeat(300) + '.edi');
    expect(n).toHaveLength(120);
    expect(n.endsWith('.edi')).toBe(true);
  });
});

describe('writing inside the target folder', () => {
  it('resolveInside refuses anything that is not a direct child', () => {
    expect(resolveInside('/data/in', 'a.edi')).toBe(path.resolve('/data/in/a.edi'));
    for (const bad of ['../a.edi', 'sub/a.edi', '/etc/passwd', '..', '.', '']) {
      expect(() => resolveInside('/data/in', bad)).toThrow(/refusing to write/);
    }
  });

  it('a hostile remote name never lands outside the target folder', async () => {
    const base = await mkdtemp(path.join(os.tmpdir(), 'rto-safe-'));
    const target = path.join(base, 'in');
    await mkdir(target);
    try {
      const hostile = [
        '../../escape.edi',
        '..\\..\\escape2.edi',
        '/etc/passwd',
        '../',
        'sub/../../x',
        '\u0000..\u0000/y',
      ];
      for (const name of hostile) {
        const p = localPathFor(target, name);
        expect(path.dirname(p)).toBe(target);
        await writeFile(p, name);
      }
      expect(await readdir(base)).toEqual(['in']);
      expect((await readdir(target)).sort()).toEqual([
        'escape.edi',
        'escape2.edi',
        'file',
        'passwd',
        'x',
        'y',
      ]);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});
