/**
 * What the sealed metadata says about a media file: its container, found from the file's first
 * bytes (never from its name), and the MIME type that container goes by. A recipient decides
 * from it whether and how its browser can play the file while it arrives.
 */
import * as v from 'valibot';

export const MEDIA_CONTAINERS = ['mp3', 'adts', 'mp4', 'webm', 'ogg', 'flac', 'wav'] as const;
export type MediaContainer = (typeof MEDIA_CONTAINERS)[number];

export const MediaInfoSchema = v.strictObject({
  container: v.picklist(MEDIA_CONTAINERS),
  /** `audio/mpeg`, `video/mp4`…: the container's type, without codecs. */
  mime: v.pipe(v.string(), v.maxLength(64), v.regex(/^(audio|video)\/[a-z0-9.+-]+$/)),
});
export type MediaInfo = v.InferOutput<typeof MediaInfoSchema>;
