// Thumbnails, so a page shows a preview without downloading a 20 MB photo: at most
// THUMBNAIL_PX on the longer side, upright (EXIF orientation applied), WebP (keeps transparency).
// An animated image gives its first frame.
import type { Readable } from "node:stream";
import sharp from "sharp";
import { DomainError } from "../errors.js";

export const THUMBNAIL_PX = 320;
export const THUMBNAIL_TYPE = "image/webp";
/** Past this, decoding would cost hundreds of MB (a 48-megapixel photo still fits). */
const MAX_INPUT_PIXELS = 64_000_000;

export interface Thumbnail {
  data: Buffer;
  /** The original's size in pixels, upright. */
  width: number;
  height: number;
}

/** Reads an image and makes its thumbnail; `invalid_file` when it does not decode. */
export async function makeThumbnail(source: Readable): Promise<Thumbnail> {
  const image = sharp({ limitInputPixels: MAX_INPUT_PIXELS, failOn: "error" });
  let readError: unknown = null;
  source.on("error", (err) => {
    readError = err;
    image.destroy(err);
  });
  source.pipe(image);
  try {
    const { autoOrient } = await image.metadata();
    const data = await image
      .autoOrient()
      .resize(THUMBNAIL_PX, THUMBNAIL_PX, { fit: "inside", withoutEnlargement: true })
      .webp({ quality: 70 })
      .toBuffer();
    return { data, width: autoOrient.width, height: autoOrient.height };
  } catch {
    source.destroy();
    if (readError !== null) throw readError;
    throw new DomainError("invalid_file", "the image does not decode (or is too large to)");
  }
}
