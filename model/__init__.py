"""The classifier: label schema, network, predictor and the model directory."""
