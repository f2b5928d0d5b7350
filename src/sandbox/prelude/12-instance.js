// Per-sandbox state. A sandbox's memory may be a copy of a template's (src/sandbox/boot.ts), so
// anything the prelude computes once at evaluation is shared by every copy unless `init` resets
// it: Math.random's seed above all (QuickJS seeds it once per context), and the time origin.

let timeOrigin = DateNow();

// xoshiro128** over four 32-bit words, seeded from the host's CSPRNG. Math.random need not be
// cryptographic, but every sandbox must draw its own sequence.
const randomState = new Uint32Array(4);
const MathImul = Math.imul;

function rotl(x, k) {
  return (x << k) | (x >>> (32 - k));
}

function nextRandom32() {
  const s = randomState;
  const result = MathImul(rotl(MathImul(s[1], 5), 7), 9) >>> 0;
  const t = s[1] << 9;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 11);
  return result;
}

// 53 random bits in [0, 1), as V8 and QuickJS give.
function random() {
  return ((nextRandom32() >>> 5) * 67108864 + (nextRandom32() >>> 6)) / 9007199254740992;
}

ObjectDefineProperty(Math, "random", { value: random, writable: true, configurable: true });

function initInstance() {
  timeOrigin = DateNow();
  performanceOrigin = host.now(); // 85-platform.js
  randomState.set(new Uint32Array(host.randomBytes(16)));
  // An all-zero state would stay zero forever.
  if ((randomState[0] | randomState[1] | randomState[2] | randomState[3]) === 0) randomState[0] = 1;
}
