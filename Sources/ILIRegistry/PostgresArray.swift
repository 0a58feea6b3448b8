/// A one-dimensional PostgreSQL array sent as one binary parameter. A whole batch of
/// simulations then binds as six arrays that `unnest` turns back into rows, so the
/// statement stays small and fixed however many rows it carries: PostgreSQL parses and
/// plans it once instead of a thousand-row VALUES list with 6,000 parameters.
struct PostgresArray: Sendable {
    /// The element type's OID (pg_type): 25 text, 17 bytea, 16 boolean.
    let elementType: UInt32
    /// Each element in its binary wire form, nil for NULL.
    let elements: [[UInt8]?]

    static func text(_ values: [String?]) -> PostgresArray {
        PostgresArray(elementType: 25, elements: values.map { $0.map { Array($0.utf8) } })
    }

    static func bytea(_ values: [[UInt8]]) -> PostgresArray {
        PostgresArray(elementType: 17, elements: values)
    }

    static func bool(_ values: [Bool]) -> PostgresArray {
        PostgresArray(elementType: 16, elements: values.map { [$0 ? 1 : 0] })
    }

    /// Appends array_recv's format: ndim, has-nulls flag, element OID, then for the one
    /// dimension its length and lower bound (1), then each element as a length (-1 for
    /// NULL) and its bytes; all integers big-endian.
    func encode(into out: inout [UInt8]) {
        func int32(_ v: Int32) { withUnsafeBytes(of: v.bigEndian) { out.append(contentsOf: $0) } }
        int32(1)
        int32(elements.contains { $0 == nil } ? 1 : 0)
        int32(Int32(bitPattern: elementType))
        int32(Int32(elements.count))
        int32(1)
        for element in elements {
            if let element {
                int32(Int32(element.count))
                out.append(contentsOf: element)
            } else {
                int32(-1)
            }
        }
    }
}
