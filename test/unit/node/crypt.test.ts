import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hashPassword, isCryptHash, verifyPassword } from '../../../src/node/crypt.js';

/** The SHA-512 test vectors published with the specification: setting, password, expected hash. */
const SPEC_VECTORS: [string, string, string][] = [
  [
    '$6$saltstring',
    'Hello world!',
    '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1',
  ],
  [
    '$6$rounds=10000$saltstringsaltstring',
    'Hello world!',
    '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.',
  ],
  [
    '$6$rounds=5000$toolongsaltstring',
    'This is just a test',
    '$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0',
  ],
  [
    '$6$rounds=1400$anotherlongsaltstring',
    'a very much longer text to encrypt.  This one even stretches over morethan one line.',
    '$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1',
  ],
  [
    '$6$rounds=77777$short',
    'we have a short salt string but not a short password',
    '$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0',
  ],
  [
    '$6$rounds=123456$asaltof16chars..',
    'a short string',
    '$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1',
  ],
  [
    '$6$rounds=10$roundstoolow',
    'the minimum number is still observed',
    '$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.',
  ],
];


describe('hashPassword', () => {
  for (const [setting, password, expected] of SPEC_VECTORS) {
    it(`matches the spec's vector for ${setting}`, () => {
      expect(hashPassword(password, setting)).toBe(expected);
    });
  }

  it('accepts a bare salt and rounds=N$salt without the $6$ prefix', () => {
    expect(hashPassword('Hello world!', 'saltstring')).toBe(SPEC_VECTORS[0]?.[2]);
    expect(hashPassword('Hello world!', 'rounds=10000$saltstringsaltstring')).toBe(SPEC_VECTORS[1]?.[2]);
  });

  it('uses only the rounds and salt of a whole hash given as the salt', () => {
    const [, password, expected] = SPEC_VECTORS[2] as [string, string, string];
    expect(hashPassword(password, expected)).toBe(expected);
  });

  it('cuts the salt at 16 characters', () => {
    expect(hashPassword('x', '0123456789abcdefXYZ')).toMatch(/^\$6\$0123456789abcdef\$[./0-9A-Za-z]{86}$/);
  });

  it('generates a random 16-character salt with 5000 rounds by default', () => {
    const first = hashPassword('rancher');
    const second = hashPassword('rancher');
    expect(first).toMatch(/^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/);
    expect(first).not.toBe(second);
    expect(verifyPassword('rancher', first)).toBe(true);
  });

  it('hashes an empty and a non-ASCII password', () => {
    expect(verifyPassword('', hashPassword(''))).toBe(true);
    const hash = hashPassword('pässwörd ✓');
    expect(verifyPassword('pässwörd ✓', hash)).toBe(true);
    expect(verifyPassword('password ✓', hash)).toBe(false);
  });

  it('refuses a salt that would break /etc/shadow', () => {
    expect(() => hashPassword('x', 'a:b')).toThrow(/salt/);
    expect(() => hashPassword('x', 'a b')).toThrow(/salt/);
    expect(() => hashPassword('x', 'sälz')).toThrow(/salt/);
  });

  // openssl comes with make setup: a missing one fails here rather than skipping the test.
  it('agrees with openssl passwd -6', () => {
    for (const [password, salt] of [
      ['rancher', 'abcdefgh'],
      ['a much longer password with spaces and more than sixty-four bytes in it, to cross a block', 'x./Zy09'],
      ['p', 'sixteencharsalt.'],
    ] as const) {
      const expected = execFileSync('openssl', ['passwd', '-6', '-salt', salt, '-stdin'], { input: password, encoding: 'utf8' }).trim();
      expect(hashPassword(password, salt)).toBe(expected);
    }
  });
});

describe('verifyPassword', () => {
  it('accepts the right password and refuses a wrong one', () => {
    for (const [, password, hash] of SPEC_VECTORS.slice(0, 3)) {
      expect(verifyPassword(password, hash)).toBe(true);
      expect(verifyPassword(`${password}x`, hash)).toBe(false);
    }
  });

  it('is false for hashes other than $6$ and for malformed ones', () => {
    expect(verifyPassword('pw', '$1$abcdefgh$IQtUouv7y7Q9dRWkQEPCc.')).toBe(false);
    expect(verifyPassword('pw', '$5$saltsalt$0rl.MZtoLLPP3X0Rdl8riRnphIcAXJY27/aOAyK2hB5')).toBe(false);
    expect(verifyPassword('pw', '$6$oops')).toBe(false);
    expect(verifyPassword('pw', 'pw')).toBe(false);
    expect(verifyPassword('pw', '!')).toBe(false);
    expect(verifyPassword('', '')).toBe(false);
  });
});

describe('isCryptHash', () => {
  // Written by libxcrypt's crypt(3) for the password "pw" (and the spec's two $6$ vectors).
  const hashes = [
    '$1$abcdefgh$IQtUouv7y7Q9dRWkQEPCc.',
    '$5$saltsalt$0rl.MZtoLLPP3X0Rdl8riRnphIcAXJY27/aOAyK2hB5',
    '$5$rounds=10000$saltsalt$bZJBYxXPnBK5OA.8VtShtY3lRJpq4vc/Xno9mP/JuuB',
    SPEC_VECTORS[0]?.[2] as string,
    SPEC_VECTORS[1]?.[2] as string,
    '$2b$10$abcdefghijklmnopqrstuuj7m4XYqbm74SxoBcXyw8to0CQ061DVG',
    '$2a$10$abcdefghijklmnopqrstuuj7m4XYqbm74SxoBcXyw8to0CQ061DVG',
    '$2y$12$abcdefghijklmnopqrstuuj7m4XYqbm74SxoBcXyw8to0CQ061DVG',
    '$y$j9T$abcdefghijklmnop$wRwvHNqzMkHLG74uLLCRVTwaZ.a1aIothEUeYGf9oED',
    '$gy$j9T$abcdefghijklmnop$FsKX1p0E7/YAeYYYk8JwEoSmY2j55FT86HbjrAKDjV9',
    '$7$CU..../....abcdefgh$T0sduvKxu8wrIjSE2QDlEIQ24zoUNt7XmCAyI.79rw6',
  ];
  for (const hash of hashes) {
    it(`recognises ${hash.slice(0, 8)}… as a hash`, () => expect(isCryptHash(hash)).toBe(true));
  }

  it('recognises locked values', () => {
    for (const value of ['*', '!', '!!', '!*', `!${hashes[3]}`, '*LK*']) expect(isCryptHash(value)).toBe(true);
  });

  it('takes anything else for clear text', () => {
    for (const value of [
      'rancher',
      '',
      'correct horse battery staple',
      '$6$oops',
      '$6$salt$tooshort',
      `${hashes[3]}x`,
      '$1$abcdefghi$IQtUouv7y7Q9dRWkQEPCc.', // a 9-character MD5 salt
      '$2b$1$abcdefghijklmnopqrstuuj7m4XYqbm74SxoBcXyw8to0CQ061DVG',
      '$3$abc$def',
      '$y$j9T$salt',
      'abJnggxhB/yWI', // DES crypt: 13 characters a clear password could also be
    ]) {
      expect(isCryptHash(value), value).toBe(false);
    }
  });
});
