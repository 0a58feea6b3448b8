import CILIKernels
import RealModule

/// The Adam optimizer, with optional weight decay, as PyTorch's `torch.optim.Adam`
/// (L2 decay added to the gradient) or `AdamW` (decoupled decay) defines it.
///
/// ```swift
/// var adam = Adam(parameters: model.parameters, learningRate: 5e-4)
/// tape.backward(from: loss)
/// clipGradientNorm(model.parameters, maxNorm: 5)
/// adam.step()          // updates the parameters and clears their gradients
/// ```
public struct Adam<Scalar: TensorScalar> {
    public enum WeightDecay: Sendable {
        case none
        /// Adds `rate · θ` to the gradient (PyTorch `Adam(weight_decay:)`).
        case l2(Scalar)
        /// Shrinks θ by `learningRate · rate` before the update (PyTorch `AdamW`).
        case decoupled(Scalar)
    }

    public let parameters: [Parameter<Scalar>]
    public var learningRate: Scalar
    public var beta1: Scalar
    public var beta2: Scalar
    public var epsilon: Scalar
    public var weightDecay: WeightDecay
    /// The number of steps taken so far.
    public var stepCount: Int { completedSteps }
    @usableFromInline var completedSteps = 0

    @usableFromInline var firstMoments: [[Scalar]]
    @usableFromInline var secondMoments: [[Scalar]]

    public init(parameters: [Parameter<Scalar>], learningRate: Scalar = 1e-3,
                beta1: Scalar = 0.9, beta2: Scalar = 0.999, epsilon: Scalar = 1e-8,
                weightDecay: WeightDecay = .none) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        firstMoments = parameters.map { Array(repeating: 0, count: $0.value.count) }
        secondMoments = parameters.map { Array(repeating: 0, count: $0.value.count) }
    }

    /// Updates every parameter that has a gradient, then clears the gradients.
    /// Parameters without a gradient are left alone, as PyTorch does.
    @inlinable
    public mutating func step() {
        completedSteps += 1
        let t = Scalar(completedSteps)
        let correction1 = 1 - Scalar.pow(beta1, t)
        let correction2 = 1 - Scalar.pow(beta2, t)
        let stepSize = learningRate / correction1
        let sqrtCorrection2 = Scalar.sqrt(correction2)
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        var l2: Scalar = 0, shrink: Scalar = 1
        switch weightDecay {
        case .none: break
        case .l2(let rate): l2 = rate
        case .decoupled(let rate): shrink = 1 - learningRate * rate
        }
        for (index, parameter) in parameters.enumerated() {
            guard let gradient = parameter.gradient else { continue }
            precondition(gradient.count == parameter.value.count,
                         "gradient of \(parameter.name) has \(gradient.count) elements, value \(parameter.value.count)")
            parameter.value.storage.withUnsafeMutableBufferPointer { theta in
                gradient.storage.withUnsafeBufferPointer { g in
                    firstMoments[index].withUnsafeMutableBufferPointer { m in
                        secondMoments[index].withUnsafeMutableBufferPointer { v in
                            Self.update(theta.baseAddress!, g.baseAddress!, m.baseAddress!, v.baseAddress!, count: theta.count,
                                        b1: b1, b2: b2, eps: eps, l2: l2, shrink: shrink,
                                        stepSize: stepSize, sqrtCorrection2: sqrtCorrection2)
                        }
                    }
                }
            }
            parameter.gradient = nil
        }
    }

    /// One Adam update over raw buffers; float32 goes to the C kernel, which vectorizes.
    @inlinable @inline(__always)
    static func update(_ theta: UnsafeMutablePointer<Scalar>, _ g: UnsafePointer<Scalar>,
                       _ m: UnsafeMutablePointer<Scalar>, _ v: UnsafeMutablePointer<Scalar>, count: Int,
                       b1: Scalar, b2: Scalar, eps: Scalar, l2: Scalar, shrink: Scalar,
                       stepSize: Scalar, sqrtCorrection2: Scalar) {
        if Scalar.self == Float.self {
            ili_adam_update_f32(
                UnsafeMutableRawPointer(theta).assumingMemoryBound(to: Float.self),
                UnsafeRawPointer(g).assumingMemoryBound(to: Float.self),
                UnsafeMutableRawPointer(m).assumingMemoryBound(to: Float.self),
                UnsafeMutableRawPointer(v).assumingMemoryBound(to: Float.self), count,
                Float(b1), Float(b2), Float(eps), Float(l2), Float(shrink), Float(stepSize), Float(sqrtCorrection2))
            return
        }
        for i in 0..<count {
            let gi = g[i] + l2 * theta[i]
            let mi = b1 * m[i] + (1 - b1) * gi
            let vi = b2 * v[i] + (1 - b2) * gi * gi
            m[i] = mi
            v[i] = vi
            let denominator = vi.squareRoot() / sqrtCorrection2 + eps
            theta[i] = theta[i] * shrink - stepSize * mi / denominator
        }
    }

    /// Clears every parameter's gradient without updating.
    public func zeroGradients() {
        for p in parameters { p.zeroGradient() }
    }
}

/// Scales all gradients down together so that their joint L2 norm is at most `maxNorm`,
/// as PyTorch's `clip_grad_norm_`.
///
/// - Returns: the norm before clipping.
@discardableResult
@inlinable
public func clipGradientNorm<Scalar: TensorScalar>(_ parameters: [Parameter<Scalar>], maxNorm: Scalar) -> Scalar {
    var total = 0.0
    for p in parameters {
        guard let g = p.gradient else { continue }
        g.storage.withUnsafeBufferPointer { a in
            for x in a { total += Double(x) * Double(x) }
        }
    }
    let norm = Scalar(total.squareRoot())
    let factor = maxNorm / (norm + 1e-6)
    if factor < 1 {
        for p in parameters where p.gradient != nil { p.gradient!.scale(by: factor) }
    }
    return norm
}
