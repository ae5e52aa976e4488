import { expect } from '@open-wc/testing';
import { MAX_NAME_BYTES, sanitizeFileName } from '../../src/sinks/file-name.js';

const bytes = (text: string) => new TextEncoder().encode(text).length;
/** A lone surrogate: half of a character, which no file system takes. */
const SPLIT = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe('sanitizeFileName', () => {
  const cases: Array<[string, string]> = [
    ['report.pdf', 'report.pdf'],
    ['résumé 📄.txt', 'résumé 📄.txt'],
    ['日本語のファイル.zip', '日本語のファイル.zip'],
    ['../../etc/passwd', '_.._etc_passwd'],
    ['C:\\Windows\\system.ini', 'C__Windows_system.ini'],
    ['.bashrc', 'bashrc'],
    ['...hidden', 'hidden'],
    ['  spaced name  ', 'spaced name'],
    ['line\nbreak\u0000.txt', 'linebreak.txt'],
    ['bell\u0007\u007f\u0085.txt', 'bell.txt'],
    ['invoice\u202Efdp.exe', 'invoicefdp.exe'],
    ['report\u202Efdp.exe', 'reportfdp.exe'],
    ['a\u202Ab\u202Bc\u202Cd\u202De.txt', 'abcde.txt'],
    ['\u2066a\u2067b\u2068c\u2069.txt', 'abc.txt'],
    ['mark\u200E\u200F\u061C.txt', 'mark.txt'],
    ['one\u2028two\u2029.txt', 'onetwo.txt'],
    ['tab\there\r\n.txt', 'tabhere.txt'],
    ['<img src=x onerror=alert(1)>.txt', '_img src=x onerror=alert(1)_.txt'],
    ['family 👨\u200D👩\u200D👧.png', 'family 👨\u200D👩\u200D👧.png'],
    ['. . name . .', 'name'],
    ['what?<is>"this"|*.txt', 'what__is__this___.txt'],
    ['trailing dots...', 'trailing dots'],
    ['', 'download'],
    ['..', 'download'],
    ['/', '_'],
    ['\u0001\u0002', 'download'],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
      expect(sanitizeFileName(input)).to.equal(expected);
    });
  }

  it('composes decomposed accents, so the same name is saved the same way', () => {
    expect(sanitizeFileName('re\u0301sume\u0301.txt')).to.equal('résumé.txt');
  });

  it('shortens very long names to fit a file system, by whole characters, keeping the extension', () => {
    for (const char of ['a', 'é', '日', '📄', '👨\u200D👩\u200D👧']) {
      const long = `${char.repeat(300)}.tar.gz`;
      const clean = sanitizeFileName(long);
      expect(bytes(clean), char).to.be.at.most(MAX_NAME_BYTES);
      expect(bytes(clean), char).to.be.greaterThan(MAX_NAME_BYTES - bytes(char) - bytes('.gz'));
      expect(clean.endsWith(`${char}.gz`), char).to.equal(true);
      expect(clean.replace(/\.gz$/, '').split(char).join(''), char).to.equal('');
      expect(SPLIT.test(clean), char).to.equal(false);
      expect(clean).to.not.contain('\ufffd');
    }
  });

  it('shortens a long name with a long extension, or none, from its start', () => {
    const noExt = sanitizeFileName('日'.repeat(300));
    expect(noExt).to.equal('日'.repeat(80));
    const longExt = sanitizeFileName(`name.${'x'.repeat(300)}`);
    expect(longExt).to.equal(`name.${'x'.repeat(MAX_NAME_BYTES - 5)}`);
    expect(sanitizeFileName(`${'a'.repeat(238)} .....${'b'.repeat(20)}`)).to.equal('a'.repeat(238));
  });

  it('gives back a clean name unchanged, so showing and saving agree whoever cleans first', () => {
    const pieces = [
      'a',
      'é',
      'e\u0301',
      '日',
      '📄',
      '.',
      ' ',
      '\u202E',
      '\u0007',
      '/',
      '<',
      '\u200D',
    ];
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let run = 0; run < 500; run++) {
      const length = Math.floor(random() * 400);
      const name = Array.from({ length }, () => pieces[Math.floor(random() * pieces.length)]).join(
        '',
      );
      const once = sanitizeFileName(name);
      expect(sanitizeFileName(once), JSON.stringify(name)).to.equal(once);
      expect(bytes(once)).to.be.at.most(MAX_NAME_BYTES);
      // eslint-disable-next-line no-control-regex -- no control character may be left
      expect(once).to.not.match(/[\u0000-\u001f\u202a-\u202e\u2066-\u2069]/);
      expect(SPLIT.test(once), JSON.stringify(name)).to.equal(false);
    }
  });
});
