import { expect } from '@open-wc/testing';
import { sanitizeFileName } from '../../src/sinks/file-name.js';

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

  it('shortens very long names by whole characters and keeps the extension', () => {
    const long = `${'📄'.repeat(300)}.tar.gz`;
    const clean = sanitizeFileName(long);
    expect(Array.from(clean)).to.have.length(200);
    expect(clean.endsWith('📄.gz')).to.equal(true);
    expect(clean).to.not.contain('\ufffd');
    expect(/[\ud800-\udbff](?![\udc00-\udfff])/.test(clean)).to.equal(false);
  });
});
