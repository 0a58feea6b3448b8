/// What went wrong in the registry, with a message that says what to do about it.
///
/// `code` is for programs (compare it, switch on it); `message` is for people and names
/// the experiment, round, field or URL involved. Codes are an open set of static
/// values rather than an enum so that adding one does not break callers' switches.
public struct RegistryError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The URL is neither `postgres://…`, `postgresql://…` nor `sqlite:PATH`.
        public static let invalidURL = Code("invalid URL")
        /// The database could not be reached or opened.
        public static let unavailable = Code("registry unavailable")
        /// The connection broke and one reconnection attempt failed too.
        public static let connectionLost = Code("connection lost")
        /// The connection broke while committing: the change may or may not be stored.
        public static let commitOutcomeUnknown = Code("commit outcome unknown")
        /// The database's schema is newer than this binary, or a migration failed.
        public static let schema = Code("schema")
        /// Another writer held the SQLite file longer than the busy timeout.
        public static let busy = Code("busy")
        public static let unknownExperiment = Code("unknown experiment")
        public static let duplicateExperiment = Code("duplicate experiment")
        public static let unknownRound = Code("unknown round")
        public static let unknownModelVersion = Code("unknown model version")
        public static let unknownPosterior = Code("unknown posterior")
        public static let unknownValidationResult = Code("unknown validation result")
        public static let unknownTrainingJob = Code("unknown training job")
        /// A round or job status change the state machine does not allow.
        public static let invalidTransition = Code("invalid transition")
        /// A value that breaks a rule of the registry (shape, NaN, bad JSON, …).
        public static let invalidInput = Code("invalid input")
        /// A posterior cannot be flagged calibrated from this validation result.
        public static let notCalibrated = Code("not calibrated")
        /// A worker acted on a training job it no longer holds.
        public static let jobNotHeld = Code("job not held")
        /// Stored weights no longer match their SHA-256.
        public static let checksumMismatch = Code("checksum mismatch")
        /// The database refused a statement for a reason not covered above.
        public static let database = Code("database error")
        /// Reading or writing files (export).
        public static let io = Code("I/O error")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
