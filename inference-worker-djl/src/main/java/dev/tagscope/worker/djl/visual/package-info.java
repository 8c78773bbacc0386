/**
 * Feature visualisation of chosen filters by activation maximisation, with gradients through DJL's
 * PyTorch autograd on the TorchScript export of the model: {@link dev.tagscope.worker.djl.visual.ActivationMaximiser}
 * ascends the gradient of a filter's spatially averaged map in the model's input space, regularised
 * as in Yosinski et al. 2015 (L2 decay, Gaussian blur every few steps) with random jitter (Olah et al.
 * 2017, transformation robustness), settings in {@link dev.tagscope.worker.djl.visual.VisualSettings};
 * {@link dev.tagscope.worker.djl.visual.Visualizer} writes a PNG per filter, a contact sheet per layer
 * and {@code index.json} (the contract the dashboard reads), drawn by
 * {@link dev.tagscope.worker.djl.visual.FeatureImages}.
 */
package dev.tagscope.worker.djl.visual;
