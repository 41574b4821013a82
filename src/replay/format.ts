/**
 * Rewind's recording file format (`-icount rr=record|replay,rrfile=F`): the data model, the writer, the
 * validating reader and the configuration check. Byte layout, versioning and crash-safety rules:
 * docs/recording-format.md.
 */
export {
  type RecordingConfig, type ImageIdentity, type DriveIdentity, type RecordingHeader, type TimelinePosition,
  type InputEvent, type DigestMark, type Trailer, type EventKindName, type RecordingErrorCode,
  EventKind, MAX_EVENT_KIND, FORMAT_VERSION, MAGIC, ChunkType, CHUNK_OPTIONAL_BIT, CHUNK_OVERHEAD,
  MAX_CHUNK_PAYLOAD, MAX_EVENT_PAYLOAD, DEFAULT_CHUNK_TARGET, DEFAULT_WRITER, RecordingError,
} from "./format-types.js";
export { RecordingWriter, type NewRecordingHeader, type RecordingWriterOptions } from "./format-writer.js";
export { RecordingReader, readRecording, type Recording, type ChunkInfo } from "./format-reader.js";
export { openRecording, findPartialRecordings, type OpenedRecording, type PartialRecording } from "./format-locate.js";
export { compareConfig, configProblem, formatSize, hashImageFile, hashImageFileAsync } from "./format-config.js";
export { describeForeignFile } from "./format-sniff.js";
