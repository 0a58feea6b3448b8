import ArgumentParser
import Foundation

/// A command that could not do its work, for a reason found while running (a file's
/// contents, a database's answer), not in how it was called.
///
/// Any error a command's `run()` throws is reported the same way (`Error: <description>`,
/// exit status 1); this type is for failures that have no library error of their own.
struct CommandFailure: Error, CustomStringConvertible {
    var message: String

    init(_ message: String) { self.message = message }

    var description: String { message }
}

extension ILI {
    /// Reports an error thrown by a running command and exits.
    ///
    /// argument-parser's own errors keep their meaning: `ExitCode` (a chosen status),
    /// `CleanExit` and the help and version requests its built-in commands throw, and a
    /// `ValidationError` (a usage mistake, status 64). Everything else is a failure of the
    /// work itself, not of the command line, so it prints as one `Error: …` line, without
    /// the usage text, and exits with status 1.
    static func exit(afterRunning error: Error) -> Never {
        if isArgumentParserError(error) { exit(withError: error) }
        FileHandle.standardError.write(Data("Error: \(failureMessage(for: error))\n".utf8))
        Foundation.exit(ExitCode.failure.rawValue)
    }

    /// Whether argument-parser declares the error's type; some of them (help and version
    /// requests) are internal to it, so the module name is the one test that covers all.
    static func isArgumentParserError(_ error: Error) -> Bool {
        error is ExitCode || error is CleanExit || error is ValidationError
            || String(reflecting: type(of: error)).hasPrefix("ArgumentParser.")
    }

    /// The error's own description; Foundation's errors by their localized description,
    /// because theirs is a dump of domain, code and user info.
    static func failureMessage(for error: Error) -> String {
        if type(of: error) is NSError.Type || error is CocoaError || error is POSIXError {
            return error.localizedDescription
        }
        return String(describing: error)
    }
}
