// An upload as it arrives: the raw body (its Content-Type, the name in X-Filename) or the
// `file` field of a multipart/form-data body (busboy). Only the bytes' stream is handed on; it
// is read by whoever stores it, never gathered here.
import type { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import busboy from "busboy";
import { DomainError } from "../errors.js";

export interface IncomingFile {
  stream: Readable;
  /** As sent; undefined when missing. */
  name: string | undefined;
  contentType: string | undefined;
  /** A raw body's Content-Length, when given. */
  declaredBytes: number | undefined;
}

/** The multipart field an upload goes in. */
export const FILE_FIELD = "file";

export function receiveFile(req: IncomingMessage): Promise<IncomingFile> {
  const type = req.headers["content-type"] ?? "";
  if (/^multipart\/form-data\b/i.test(type)) return receiveMultipart(req);
  const length = req.headers["content-length"];
  return Promise.resolve({
    stream: req,
    name: decodeName(req.headers["x-filename"]),
    contentType: type === "" ? undefined : type,
    declaredBytes: length === undefined ? undefined : Number(length),
  });
}

/** X-Filename is percent-encoded UTF-8 (encodeURIComponent), since a header is ASCII. */
function decodeName(header: string | string[] | undefined): string | undefined {
  if (typeof header !== "string") return undefined;
  try {
    return decodeURIComponent(header);
  } catch {
    throw new DomainError("invalid_upload", "X-Filename must be percent-encoded UTF-8");
  }
}

const invalidForm = (why: string) =>
  new DomainError("invalid_upload", `invalid multipart/form-data body: ${why}`);

/** Resolves with the first file part, which must be the `file` field; other fields are read
 * and dropped. */
function receiveMultipart(req: IncomingMessage): Promise<IncomingFile> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        defParamCharset: "utf8",
        limits: { files: 1, fields: 20, fieldSize: 4096, parts: 40, headerPairs: 40 },
      });
    } catch {
      reject(invalidForm("its Content-Type has no boundary"));
      return;
    }
    parser.on("file", (field, stream, info) => {
      if (field !== FILE_FIELD) {
        stream.resume();
        reject(invalidForm(`the file goes in the field "${FILE_FIELD}"`));
        return;
      }
      // Busboy fails the stream when the body breaks off, maybe before its reader listens;
      // the reader then finds it destroyed before its end.
      stream.on("error", () => undefined);
      resolve({
        stream,
        name: info.filename,
        contentType: info.mimeType,
        declaredBytes: undefined,
      });
    });
    // After the file was handed on these change nothing: a broken body ends its stream with
    // an error (busboy destroys it), which the reader sees.
    parser.on("close", () => reject(invalidForm(`no file in the field "${FILE_FIELD}"`)));
    parser.on("error", (err: Error) => {
      // The rest of the body is read and dropped, so that the answer gets through.
      req.unpipe(parser);
      req.resume();
      reject(invalidForm(err.message));
    });
    req.on("error", (err) => parser.destroy(err));
    req.pipe(parser);
  });
}
