/**
 * Media fixtures made at test time by Debian's `ffmpeg`, never downloaded: each audio file is a
 * 440 Hz tone for its first half and 880 Hz for its second, so a test can tell by ear (an
 * AnalyserNode, or `dominantFrequency` here) where playback is; the video is a test pattern that
 * turns from red to blue at the same point, over the same tones. Also what the files' decoded
 * sound is, for checking a fixture (or a received copy) by its content.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const FFMPEG = process.env.FFMPEG_PATH ?? '/usr/bin/ffmpeg';
export const LOW_HZ = 440;
export const HIGH_HZ = 880;
/** Every tone is made, and every file's sound decoded, at this rate. */
const SAMPLE_RATE = 48_000;

/** Runs ffmpeg quietly (errors only) with `args`; its output comes back as bytes. */
function ffmpeg(args: string[], maxBuffer = 1024 * 1024) {
  return run(FFMPEG, ['-hide_banner', '-loglevel', 'error', ...args], {
    encoding: 'buffer',
    maxBuffer,
  });
}

export interface MediaFixture {
  /** File name in its directory; the extension says the container. */
  name: string;
  /** What src/media/sniff.ts must find in its first bytes. */
  container: 'mp3' | 'adts' | 'mp4' | 'webm' | 'ogg' | 'flac' | 'wav';
  /** Seconds; the tone changes at half of it. */
  seconds: number;
  video: boolean;
  /** ffmpeg's output options: codec and container. */
  args: string[];
}

/** The fixtures the media tests use (issue 17 names the first five). */
export const MEDIA_FIXTURES: readonly MediaFixture[] = [
  {
    name: 'tone.mp3',
    container: 'mp3',
    seconds: 60,
    video: false,
    args: ['-c:a', 'libmp3lame', '-b:a', '128k'],
  },
  {
    name: 'tone.aac',
    container: 'adts',
    seconds: 20,
    video: false,
    args: ['-c:a', 'aac', '-b:a', '128k', '-f', 'adts'],
  },
  {
    name: 'tone.webm',
    container: 'webm',
    seconds: 20,
    video: false,
    args: ['-c:a', 'libopus', '-b:a', '128k'],
  },
  { name: 'tone.wav', container: 'wav', seconds: 10, video: false, args: ['-c:a', 'pcm_s16le'] },
  {
    name: 'pattern.webm',
    container: 'webm',
    seconds: 6,
    video: true,
    args: ['-c:v', 'libvpx', '-b:v', '200k', '-c:a', 'libopus'],
  },
  { name: 'tone.ogg', container: 'ogg', seconds: 10, video: false, args: ['-c:a', 'libvorbis'] },
  { name: 'tone.flac', container: 'flac', seconds: 10, video: false, args: ['-c:a', 'flac'] },
  {
    name: 'tone.m4a',
    container: 'mp4',
    seconds: 10,
    video: false,
    // Fragmented, as Media Source Extensions take MP4.
    args: [
      '-c:a',
      'aac',
      '-b:a',
      '128k',
      '-movflags',
      '+frag_keyframe+empty_moov+default_base_moof',
    ],
  },
];

/** Whether ffmpeg is here; where it is not, scripts/test.mjs installs it or says how. */
export function haveFfmpeg(): boolean {
  return existsSync(FFMPEG);
}

/** Makes `fixture` in `dir` (once: an existing file is kept) and returns its path. */
export async function makeMediaFixture(dir: string, fixture: MediaFixture): Promise<string> {
  const out = path.join(dir, fixture.name);
  if (existsSync(out)) return out;
  const half = fixture.seconds / 2;
  const tone = (hz: number) => [
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=${hz}:sample_rate=${SAMPLE_RATE}:duration=${half}`,
  ];
  const colour = (c: string) => ['-f', 'lavfi', '-i', `color=c=${c}:s=160x120:r=25:d=${half}`];
  const inputs = [...tone(LOW_HZ), ...tone(HIGH_HZ)];
  let graph = '[0:a][1:a]concat=n=2:v=0:a=1[a]';
  const maps = ['-map', '[a]'];
  if (fixture.video) {
    inputs.push(...colour('red'), ...colour('blue'));
    graph += ';[2:v][3:v]concat=n=2:v=1:a=0[v]';
    maps.push('-map', '[v]');
  }
  await ffmpeg([
    '-y',
    ...inputs,
    '-filter_complex',
    graph,
    ...maps,
    '-ac',
    '2',
    ...fixture.args,
    out,
  ]);
  return out;
}

/** The file's sound from `fromSeconds` for `seconds`, decoded to mono samples at SAMPLE_RATE. */
export async function decodeAudio(
  file: string,
  fromSeconds: number,
  seconds: number,
): Promise<Float32Array> {
  const { stdout } = await ffmpeg(
    [
      ...['-ss', String(fromSeconds), '-t', String(seconds), '-i', file, '-vn', '-ac', '1'],
      ...['-ar', String(SAMPLE_RATE), '-f', 'f32le', '-'],
    ],
    64 * 1024 * 1024,
  );
  return new Float32Array(stdout.buffer, stdout.byteOffset, Math.floor(stdout.length / 4));
}

/**
 * The strongest frequency in `samples` (at SAMPLE_RATE) between 100 Hz and 4 kHz, to the nearest
 * `stepHz`, by the Goertzel power at each candidate: enough to tell 440 Hz from 880 Hz.
 */
export function dominantFrequency(samples: Float32Array, stepHz = 10): number {
  let best = 0;
  let bestPower = -1;
  for (let hz = 100; hz <= 4000; hz += stepHz) {
    const coeff = 2 * Math.cos((2 * Math.PI * hz) / SAMPLE_RATE);
    let s1 = 0;
    let s2 = 0;
    for (const x of samples) {
      const s0 = x + coeff * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    if (power > bestPower) {
      bestPower = power;
      best = hz;
    }
  }
  return best;
}

/** The mean colour of the video's frame at `atSeconds`, as [r, g, b] from 0 to 255. */
export async function frameColour(
  file: string,
  atSeconds: number,
): Promise<[number, number, number]> {
  const { stdout: px } = await ffmpeg([
    ...['-ss', String(atSeconds), '-i', file, '-frames:v', '1'],
    ...['-vf', 'scale=1:1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
  ]);
  return [px[0]!, px[1]!, px[2]!];
}
