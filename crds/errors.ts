// Errors of the rules engine. Class names follow the real library's crds.core.exceptions,
// because best-reference results embed their messages ("NOT FOUND " + message) and callers
// (certify, the web layer) distinguish them by class.

export class CrdsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A mapping file that is not valid mapping-language text; names file, line and column. */
export class MappingSyntaxError extends CrdsError {
  constructor(
    readonly reason: string,
    readonly filename: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${filename}:${line}:${column}: ${reason}`);
  }
}

export class MappingError extends CrdsError {}
/** Structurally wrong mapping (bad parkey/classes, wrong key length, duplicate key after conditioning). */
export class MappingFormatError extends MappingError {}
export class ChecksumError extends MappingError {}
export class MissingHeaderKeyError extends MappingError {}
/** A mapping (or its file) that cannot be found in the store. */
export class MappingNotFoundError extends CrdsError {}

export class CrdsUnknownInstrumentError extends CrdsError {}
export class CrdsUnknownReftypeError extends CrdsError {}

/** A header value not among the values the rmap knows, or a malformed date. */
export class ValidationError extends CrdsError {}
export class AmbiguousMatchError extends CrdsError {}
export class InvalidDatetimeError extends CrdsError {}
export class InvalidVersionFormat extends CrdsError {}

/** Lookup failures: a Match selector tries the next weight group when a nested one raises these. */
export class CrdsLookupError extends CrdsError {}
export class MatchingError extends CrdsLookupError {}
export class UseAfterError extends CrdsLookupError {}
export class VersionAfterError extends CrdsLookupError {}

/** A relevance/omit expression that is not in the safe expression language, or fails to evaluate. */
export class ExpressionError extends CrdsError {}
/** Python's NameError analogue: an expression names a parameter the header lacks. */
export class ExpressionNameError extends ExpressionError {}

export class CrdsNamingError extends CrdsError {}
