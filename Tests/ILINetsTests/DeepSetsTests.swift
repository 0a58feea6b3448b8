import Foundation
import ILINets
import XCTest

/// The DeepSets embedding: exact gradients, invariance to the order of the points and to
/// the padding, the pooling arithmetic, its YAML, its z-scoring and its saved form.
final class DeepSetsTests: XCTestCase {
    /// Padded sets of the given sizes (one row each) in a layout; features are normal
    /// draws, empty slots hold `padding` (drawn anew for each slot when nil).
    static func sets(sizes: [Int], layout: SetLayout, padding: Double? = nil, rng: inout RandomSource) -> Matrix<Double> {
        Matrix(sizes.map { size -> [Double] in
            var row = layout.row((0..<size).map { _ in (0..<layout.pointFeatures).map { _ in rng.normal() * 2 + 1 } })
            for slot in size..<layout.maxPoints {
                for j in 0..<layout.pointFeatures { row[layout.flagColumn(slot) + 1 + j] = padding ?? rng.normal() * 50 }
            }
            return row
        })
    }

    static func embedding(_ layout: SetLayout, pool: SetPooling, phi: [Int] = [6, 5], rho: [Int] = [4, 3],
                          activation: Activation = .tanh) -> EmbeddingConfiguration {
        EmbeddingConfiguration(inputCount: layout.valueCount, layers: [
            .deepSets(maxPoints: layout.maxPoints, pointFeatures: layout.pointFeatures, pool: pool, phi: phi, rho: rho,
                      activation: activation)])
    }

    /// A MAF over 2 features whose context goes through a DeepSets embedding, with the
    /// set z-scoring fitted to `context` and weights moved off their initial values.
    static func flow(_ layout: SetLayout, pool: SetPooling, context: Matrix<Double>, seed: UInt64 = 4) throws -> any ConditionalDensityEstimator<Double> {
        var config = DensityEstimatorConfiguration.maf(features: 2, context: layout.valueCount)
        config.hiddenFeatures = 6
        config.transformCount = 2
        config.embedding = embedding(layout, pool: pool)
        var rng = RandomSource(seed: seed)
        let model: any ConditionalDensityEstimator<Double> = try makeDensityEstimator(config, rng: &rng)
        let y: Matrix<Double> = rng.normalMatrix(rows: context.rows, cols: 2)
        model.fitStandardization(features: y, context: context)
        for p in model.parameters { p.value = p.value.map { $0 + 0.05 * rng.normal() } }
        return model
    }

    // MARK: Gradients

    /// −mean log q(y | x) through a flow with a DeepSets embedding (sets of 0 to 4 points,
    /// garbage in the empty slots): its gradient with respect to every weight of φ and ρ
    /// and every input value matches central finite differences, for both poolings.
    func testLossGradientsMatchFiniteDifferencesForEveryParameterAndInput() throws {
        let layout = SetLayout(maxPoints: 4, pointFeatures: 2)
        for pool in SetPooling.allCases {
            var rng = RandomSource(seed: 11)
            let x = Self.sets(sizes: [3, 0, 4, 1, 2], layout: layout, rng: &rng)
            let y: Matrix<Double> = rng.normalMatrix(rows: x.rows, cols: 2)
            let model = try Self.flow(layout, pool: pool, context: x)
            func loss(_ context: Matrix<Double>) -> Double {
                let tape = Tape<Double>(recordsGradients: false)
                return -model.logProb(tape.constant(y), context: tape.constant(context)).mean().value.scalar
            }
            for p in model.parameters { p.zeroGradient() }
            let tape = Tape<Double>()
            let input = tape.input(x)
            tape.backward(from: -model.logProb(tape.constant(y), context: input).mean())

            let setParameters = model.parameters.filter { $0.name.hasPrefix("embedding.0.") }
            XCTAssertEqual(setParameters.count, 2 * (2 + 2), "φ and ρ each have two layers of weights and biases")
            let step = 1e-6
            for p in setParameters {
                let analytic = try XCTUnwrap(p.gradient, "\(p.name) got no gradient")
                for i in 0..<p.value.count {
                    let saved = p.value.storage[i]
                    p.value.storage[i] = saved + step
                    let plus = loss(x)
                    p.value.storage[i] = saved - step
                    let minus = loss(x)
                    p.value.storage[i] = saved
                    let numeric = (plus - minus) / (2 * step)
                    XCTAssertEqual(analytic.storage[i], numeric, accuracy: 1e-6 * max(1, abs(numeric)), "\(pool) \(p.name)[\(i)]")
                }
            }
            let gx = try XCTUnwrap(tape.gradient(of: input))
            var nonZero = 0
            for i in 0..<x.count {
                var plus = x, minus = x
                plus.storage[i] += step
                minus.storage[i] -= step
                let numeric = (loss(plus) - loss(minus)) / (2 * step)
                XCTAssertEqual(gx.storage[i], numeric, accuracy: 1e-6 * max(1, abs(numeric)), "\(pool) x[\(i / x.cols), \(i % x.cols)]")
                if gx.storage[i] != 0 { nonZero += 1 }
            }
            // Exactly the real points' features (10 points × 2) carry gradient; flags and empty slots none.
            XCTAssertEqual(nonZero, 10 * 2, "\(pool)")
        }
    }

    // MARK: Invariances

    /// The embedding's output and the flow's density do not change when a set's real points
    /// are shuffled among the slots (empty slots in between included), but do change when a
    /// point moves: the invariance is not that of a network that ignores its input.
    func testShufflingThePointsChangesNothing() throws {
        let layout = SetLayout(maxPoints: 7, pointFeatures: 3)
        for pool in SetPooling.allCases {
            var rng = RandomSource(seed: 21)
            let x = Self.sets(sizes: [5, 7, 1, 3], layout: layout, rng: &rng)
            let y: Matrix<Double> = rng.normalMatrix(rows: x.rows, cols: 2)
            let model = try Self.flow(layout, pool: pool, context: x)
            // Each row's slots (flag and features together) in a random order.
            let shuffled = Matrix<Double>((0..<x.rows).map { i -> [Double] in
                let order = rng.permutation(layout.maxPoints)
                return order.flatMap { slot in Array(x.row(i)[layout.flagColumn(slot)..<(layout.flagColumn(slot) + layout.slotWidth)]) }
            })
            XCTAssertNotEqual(shuffled, x)
            let original = try model.logProb(of: y, given: x)
            let permuted = try model.logProb(of: y, given: shuffled)
            for i in 0..<x.rows { XCTAssertEqual(permuted[i], original[i], accuracy: 1e-12, "\(pool) row \(i)") }

            var moved = x
            moved[0, layout.flagColumn(2) + 1] += 0.5
            let changed = try model.logProb(of: y, given: moved)
            XCTAssertGreaterThan(abs(changed[0] - original[0]), 1e-6, "\(pool): moving a point must change the density")
        }
    }

    /// The same sets with their empty slots filled with other values, and the same sets in
    /// a layout with twice as many slots (the weights copied over, since they do not depend
    /// on the number of slots), give the same embedding; a flag turned on does not.
    func testPaddingChangesNothing() throws {
        let small = SetLayout(maxPoints: 4, pointFeatures: 2), large = SetLayout(maxPoints: 8, pointFeatures: 2)
        for pool in SetPooling.allCases {
            var rng = RandomSource(seed: 31)
            let zeros = Self.sets(sizes: [2, 4, 0, 1], layout: small, padding: 0, rng: &rng)
            var garbage = zeros
            for i in 0..<zeros.rows {
                for slot in 0..<small.maxPoints where zeros[i, small.flagColumn(slot)] == 0 {
                    for j in 1...small.pointFeatures { garbage[i, small.flagColumn(slot) + j] = rng.normal() * 1e3 }
                }
            }
            // The same sets in 8 slots: each real point in a random slot, the rest garbage.
            let wide = Matrix<Double>((0..<zeros.rows).map { i -> [Double] in
                var row = (0..<large.valueCount).map { _ in rng.normal() * 1e3 }
                for slot in 0..<large.maxPoints { row[large.flagColumn(slot)] = 0 }
                let targets = rng.permutation(large.maxPoints)
                var next = 0
                for slot in 0..<small.maxPoints where zeros[i, small.flagColumn(slot)] == 1 {
                    let target = large.flagColumn(targets[next])
                    next += 1
                    row[target] = 1
                    for j in 1...small.pointFeatures { row[target + j] = zeros[i, small.flagColumn(slot) + j] }
                }
                return row
            })
            var seedA = RandomSource(seed: 5), seedB = RandomSource(seed: 6)
            let narrow = EmbeddingNetwork<Double>(configuration: Self.embedding(small, pool: pool), rng: &seedA, name: "e")
            let broad = EmbeddingNetwork<Double>(configuration: Self.embedding(large, pool: pool), rng: &seedB, name: "e")
            XCTAssertEqual(narrow.parameters.map(\.name), broad.parameters.map(\.name))
            for (a, b) in zip(narrow.parameters, broad.parameters) { b.value = a.value }
            func embed(_ net: EmbeddingNetwork<Double>, _ x: Matrix<Double>) -> Matrix<Double> {
                let tape = Tape<Double>(recordsGradients: false)
                return net(tape.constant(x)).value
            }
            let reference = embed(narrow, zeros)
            XCTAssertEqual(embed(narrow, garbage), reference, "\(pool): the empty slots' values leaked in")
            let widened = embed(broad, wide)
            for i in 0..<reference.count { XCTAssertEqual(widened.storage[i], reference.storage[i], accuracy: 1e-12, "\(pool)") }

            var extra = garbage
            extra[2, small.flagColumn(1)] = 1      // the empty set gains a (huge) point
            XCTAssertNotEqual(embed(narrow, extra).row(2), reference.row(2), "\(pool): a present flag must count")
        }
    }

    // MARK: Pooling arithmetic

    /// φ(p) = relu(W p + b) with W = [[1, 0], [0, −1], [1, 1]], b = (0, 0, −1), no ρ: for
    /// the points (1, 2) and (3, −4) φ gives (1, 0, 2) and (3, 4, 0), whose sum is (4, 4, 2)
    /// and mean (2, 2, 1); a padded slot holding (100, 100) is ignored and an empty set gives 0.
    func testSumAndMeanPoolingOnAHandComputedSet() {
        let layout = SetLayout(maxPoints: 3, pointFeatures: 2)
        let x = Matrix<Double>([
            [1, 1, 2, 0, 100, 100, 1, 3, -4],
            [0, 5, 5, 0, 6, 6, 0, 7, 7],
        ])
        for (pool, expected) in [(SetPooling.sum, [4.0, 4, 2]), (.mean, [2.0, 2, 1])] {
            var rng = RandomSource(seed: 1)
            let net = EmbeddingNetwork<Double>(configuration: EmbeddingConfiguration(inputCount: 9, layers: [
                .deepSets(maxPoints: 3, pointFeatures: 2, pool: pool, phi: [3], activation: .relu)]), rng: &rng, name: "e")
            guard case .deepSets(let sets) = net.layers[0] else { return XCTFail("not a DeepSets layer") }
            XCTAssertEqual(sets.layout, layout)
            sets.phi[0].weight.value = Matrix([[1, 0], [0, -1], [1, 1]])
            sets.phi[0].bias!.value = Matrix([[0, 0, -1]])
            let tape = Tape<Double>(recordsGradients: false)
            let out = net(tape.constant(x)).value
            XCTAssertEqual(out.row(0), expected, "\(pool)")
            XCTAssertEqual(out.row(1), [0, 0, 0], "\(pool): an empty set")
        }
    }

    // MARK: Z-scoring

    /// Each point feature is z-scored with the mean and deviation of the real points of all
    /// rows and slots, the same in every slot; flags are left alone.
    func testSetZScoringUsesRealPointsAndKeepsTheFlags() {
        let layout = SetLayout(maxPoints: 2, pointFeatures: 2)
        // Real points (1, 10), (3, 30), (5, 50); padding (1000, −1000) must not count.
        let x = Matrix<Double>([
            [1, 1, 10, 0, 1000, -1000],
            [1, 3, 30, 1, 5, 50],
        ])
        let z = Standardization<Double>.fittedToSets(x, layout: layout)
        XCTAssertEqual(z.mean.storage, [0, 3, 30, 0, 3, 30])
        XCTAssertEqual(z.standardDeviation.storage, [1, 2, 20, 1, 2, 20])
        let applied = z.apply(x)
        XCTAssertEqual(applied[1, 0], 1)
        XCTAssertEqual(applied[0, 3], 0)
        // An estimator whose context goes through a DeepSets layer fits this z-scoring.
        var config = DensityEstimatorConfiguration.mdn(features: 1, context: layout.valueCount)
        config.embedding = Self.embedding(layout, pool: .sum)
        var rng = RandomSource(seed: 2)
        let model: any ConditionalDensityEstimator<Double> = try! makeDensityEstimator(config, rng: &rng)
        model.fitStandardization(features: Matrix([[0], [1]]), context: x)
        XCTAssertEqual(model.contextStandardization.mean, z.mean)
        XCTAssertEqual(model.contextStandardization.standardDeviation, z.standardDeviation)
        // Structured z-scoring would scale the flags with the features: refused.
        config.structuredContext = true
        XCTAssertThrowsError(try config.validate()) { XCTAssertTrue("\($0)".contains("deep_sets"), "\($0)") }
    }

    // MARK: YAML

    func testYAMLReadsIntoTheConfiguration() throws {
        let config = try EmbeddingConfiguration(yaml: """
            input_count: 20
            layers:
              - {type: deep_sets, max_points: 4, point_features: 4, pool: mean, phi: [16, 8], rho: [8, 4], activation: tanh}
              - {type: dense, width: 2}
            """)
        XCTAssertEqual(config, EmbeddingConfiguration(inputCount: 20, layers: [
            .deepSets(maxPoints: 4, pointFeatures: 4, pool: .mean, phi: [16, 8], rho: [8, 4], activation: .tanh), .dense(2)]))
        XCTAssertEqual(config.outputCount, 2)
        XCTAssertEqual(config.setLayout, SetLayout(maxPoints: 4, pointFeatures: 4))
        // Without rho the pooled φ features are the output; without activation, ReLU.
        let bare = try EmbeddingConfiguration(yaml: "input_count: 6\nlayers: [{type: deep_sets, max_points: 2, point_features: 2, pool: sum, phi: [5]}]")
        XCTAssertEqual(bare.outputCount, 5)
        XCTAssertEqual(bare.layers[0].resolvedSetActivation, .relu)
        // The stored (JSON) form round-trips.
        let json = try JSONEncoder().encode(config)
        XCTAssertEqual(try JSONDecoder().decode(EmbeddingConfiguration.self, from: json), config)
    }

    func testYAMLMistakesNameTheKey() {
        let layer = "type: deep_sets, max_points: 4, point_features: 2"
        let cases: [(String, String)] = [
            ("input_count: 12\nlayers: [{\(layer), phi: [4]}]", "layers[0]: a deep_sets layer needs 'pool'"),
            ("input_count: 12\nlayers: [{\(layer), pool: max, phi: [4]}]", "layers[0].pool: not a pooling (one of: sum, mean)"),
            ("input_count: 12\nlayers: [{\(layer), pool: sum}]", "layers[0]: a deep_sets layer needs 'phi'"),
            ("input_count: 12\nlayers: [{\(layer), pool: sum, phi: 4}]", "layers[0].phi: expected a list of layer widths"),
            ("input_count: 12\nlayers: [{\(layer), pool: sum, phi: []}]", "layers[0].phi: needs at least one layer width"),
            ("input_count: 12\nlayers: [{\(layer), pool: sum, phi: [4, 0]}]", "layers[0].phi[1]: must be at least 1, got 0"),
            ("input_count: 12\nlayers: [{\(layer), pool: sum, phi: [4], rho: [a]}]", "layers[0].rho[0]: expected a whole number"),
            ("input_count: 12\nlayers: [{\(layer), pool: sum, phi: [4], width: 3}]", "layers[0].width: not a key of a deep_sets layer"),
            ("input_count: 12\nlayers: [{type: deep_sets, maxPoints: 4}]", "layers[0].maxPoints: 'maxPoints' is written max_points"),
            ("input_count: 12\nlayers: [{type: deepSets}]", "layers[0].type: 'deepSets' is written deep_sets"),
            ("input_count: 10\nlayers: [{\(layer), pool: sum, phi: [4]}]",
             "layers[0].max_points: 4 points × (2 features + 1 presence flag) = 12 values, but the input has 10"),
            ("input_count: 12\nlayers: [{type: dense, width: 12}, {\(layer), pool: sum, phi: [4]}]",
             "layers[1].type: a deep_sets layer reads the padded set itself, so it must be the first layer"),
            ("input_count: 12\ninput_channels: 2\nlayers: [{\(layer), pool: sum, phi: [4]}]", "input_channels: a deep_sets layer reads one channel"),
        ]
        for (yaml, expected) in cases {
            XCTAssertThrowsError(try EmbeddingConfiguration(yaml: yaml), yaml) { error in
                XCTAssertTrue("\(error)".contains(expected), "expected '\(expected)' in: \(error)")
            }
        }
    }

    // MARK: Saved form

    /// MAF, NSF, MDN and MADE estimators and a ratio classifier with a DeepSets embedding
    /// reload from their saved files with identical densities, samples and logits (the
    /// set z-scoring included).
    func testSavedModelsReloadWithIdenticalOutputs() throws {
        let layout = SetLayout(maxPoints: 6, pointFeatures: 3)
        var rng = RandomSource(seed: 41)
        let x = Self.sets(sizes: [6, 0, 2, 5, 3, 1, 4, 6], layout: layout, rng: &rng).converted(to: Float.self)
        let y: Matrix<Float> = rng.normalMatrix(rows: x.rows, cols: 2)
        for kind in [DensityEstimatorConfiguration.Kind.maf, .nsf, .mdn, .made] {
            var config = DensityEstimatorConfiguration(kind: kind, featureCount: 2, contextCount: layout.valueCount)
            config.embedding = Self.embedding(layout, pool: kind == .nsf ? .mean : .sum, activation: .relu)
            let model: any ConditionalDensityEstimator<Float> = try makeDensityEstimator(config, rng: &rng)
            model.fitStandardization(features: y, context: x)
            for p in model.parameters { p.value = p.value.map { $0 + 0.01 } }
            let directory = NSTemporaryDirectory() + "ili-deepsets-\(UUID().uuidString)"
            addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
            try model.save(to: directory)
            let loaded = try loadDensityEstimator(from: directory, as: Float.self)
            XCTAssertEqual(loaded.configuration, model.configuration, "\(kind)")
            XCTAssertEqual(loaded.contextStandardization.mean, model.contextStandardization.mean, "\(kind)")
            XCTAssertEqual(try loaded.logProb(of: y, given: x), try model.logProb(of: y, given: x), "\(kind)")
            var a = RandomSource(seed: 1), b = RandomSource(seed: 1)
            XCTAssertEqual(loaded.sample(4, context: x, rng: &a), model.sample(4, context: x, rng: &b), "\(kind)")
        }
        var classifierConfig = ClassifierConfiguration(parameterCount: 2, dataCount: layout.valueCount)
        classifierConfig.embedding = Self.embedding(layout, pool: .sum)
        let classifier = RatioClassifier<Float>(configuration: classifierConfig, rng: &rng)
        classifier.fitStandardization(parameters: y, data: x)
        XCTAssertEqual(classifier.dataStandardization.mean.storage[0], 0, "the flags are not z-scored")
        let directory = NSTemporaryDirectory() + "ili-deepsets-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        try classifier.save(to: directory)
        let loaded = try RatioClassifier<Float>.load(from: directory)
        XCTAssertEqual(try loaded.logits(parameters: y, data: x), try classifier.logits(parameters: y, data: x))
    }

    // MARK: Learning

    /// y ~ N(0, 2²); a set of 1 to 12 points xᵢ ~ N(y, 1). The posterior is Gaussian with
    /// precision 1/4 + N and mean Σxᵢ / (1/4 + N): it needs both the sum and the number of
    /// points, which sum pooling keeps. An MDN reading the sets through a DeepSets embedding,
    /// trained jointly, comes within 0.07 of the true held-out log-density (−0.567; it
    /// reaches −0.600). With mean pooling, which forgets N, the same network reaches −0.700,
    /// and ignoring the sets altogether would score the prior's −2.1.
    func testSumPoolingLearnsAPosteriorThatNeedsTheSetSize() throws {
        let layout = SetLayout(maxPoints: 12, pointFeatures: 1)
        func draw(_ n: Int, seed: UInt64) -> (y: Matrix<Float>, x: Matrix<Float>, truth: [Double]) {
            var rng = RandomSource(seed: seed)
            var ys: [Float] = [], rows: [[Double]] = [], truth: [Double] = []
            for _ in 0..<n {
                let y = 2 * rng.normal()
                let count = 1 + Int(rng.uniform() * 12)
                let points = (0..<count).map { _ in [y + rng.normal()] }
                // Scatter the points over the slots so that position carries nothing.
                var row = [Double](repeating: 0, count: layout.valueCount)
                for (k, slot) in rng.permutation(layout.maxPoints).prefix(count).enumerated() {
                    row[layout.flagColumn(slot)] = 1
                    row[layout.flagColumn(slot) + 1] = points[k][0]
                }
                let precision = 0.25 + Double(count)
                let mean = points.reduce(0) { $0 + $1[0] } / precision
                ys.append(Float(y))
                rows.append(row)
                truth.append(0.5 * log(precision / (2 * Double.pi)) - 0.5 * precision * (y - mean) * (y - mean))
            }
            return (Matrix(rows: n, cols: 1, ys), Matrix(rows).converted(to: Float.self), truth)
        }
        var config = DensityEstimatorConfiguration.mdn(features: 1, context: layout.valueCount)
        config.componentCount = 2
        config.embedding = Self.embedding(layout, pool: .sum, phi: [16, 16], rho: [16, 4], activation: .relu)
        var rng = RandomSource(seed: 7)
        let model: any ConditionalDensityEstimator<Float> = try makeDensityEstimator(config, rng: &rng)
        let train = draw(8000, seed: 8), test = draw(2000, seed: 9)
        fit(model, y: train.y, context: train.x, epochs: 60, learningRate: 2e-3)
        let heldOut = mean(try model.logProb(of: test.y, given: test.x))
        let truth = mean(test.truth)
        XCTAssertGreaterThan(heldOut, truth - 0.07, "held-out \(heldOut) vs true \(truth)")
    }
}
