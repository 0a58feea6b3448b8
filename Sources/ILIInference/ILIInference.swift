// ILIInference: priors, datasets, the training loop shared by NPE, NLE and NRE,
// ensembles and posteriors.
@_exported import ILINets
