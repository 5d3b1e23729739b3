// The images Herald previews: four raster types, each known by its first bytes. Another image
// type (SVG above all, which can carry script) is stored as given and served as an attachment.

export const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];

/** How many leading bytes tell the four apart (WebP: "RIFF" size "WEBP"). */
export const SNIFF_BYTES = 12;

const startsWith = (head: Buffer, bytes: readonly number[], at = 0) =>
  bytes.every((byte, i) => head[at + i] === byte);
const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0));

/** The image type the bytes begin with, or null. */
export function sniffImage(head: Buffer): ImageType | null {
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (startsWith(head, [0xff, 0xd8, 0xff])) return "image/jpeg";
  if (startsWith(head, ascii("GIF87a")) || startsWith(head, ascii("GIF89a"))) return "image/gif";
  if (startsWith(head, ascii("RIFF")) && startsWith(head, ascii("WEBP"), 8)) return "image/webp";
  return null;
}

/** The image type a Content-Type names (parameters and case aside), or null. */
export function imageTypeOf(contentType: string): ImageType | null {
  const essence = contentType.split(";", 1)[0]!.trim().toLowerCase();
  return (IMAGE_TYPES as readonly string[]).includes(essence) ? (essence as ImageType) : null;
}
