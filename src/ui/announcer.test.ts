import { expect } from '@open-wc/testing';
import { Announcer } from './announcer.js';

describe('Announcer', () => {
  it('announces a new situation at once and progress at most every interval', () => {
    let now = 0;
    const announcer = new Announcer(5000, () => now);
    expect(announcer.update('Downloading a.txt.', '1%')).to.equal('Downloading a.txt. 1%');
    now = 1000;
    expect(announcer.update('Downloading a.txt.', '20%')).to.equal('Downloading a.txt. 1%');
    now = 4999;
    expect(announcer.update('Downloading a.txt.', '40%')).to.equal('Downloading a.txt. 1%');
    now = 5000;
    expect(announcer.update('Downloading a.txt.', '41%')).to.equal('Downloading a.txt. 41%');
    now = 5001;
    expect(announcer.update('Saving a.txt…')).to.equal('Saving a.txt…');
  });

  it('keeps a one-off confirmation until something new happens', () => {
    let now = 0;
    const announcer = new Announcer(5000, () => now);
    announcer.update('Link ready.');
    expect(announcer.say('Link copied.')).to.equal('Link copied.');
    now = 60_000;
    expect(announcer.update('Link ready.')).to.equal('Link copied.');
    expect(announcer.update('Link ready. 1 recipient: 1 connecting.')).to.equal(
      'Link ready. 1 recipient: 1 connecting.',
    );
  });
});
