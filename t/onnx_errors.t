# ONNX models the module cannot run exactly fail at start-up (and so
# `nginx -t`) with a message naming the model, the file, the node and the
# reason.  The models are made by t/models/gen_onnx.py.

use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: an operator the module does not know
--- http_config
    infer_model m $TEST_NGINX_MODELS/onnx/bad_op.onnx;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log eval
qr{infer_model "m": cannot load ".*/onnx/bad_op\.onnx": node "erf1" \(Erf\): operator Erf is not supported}



=== TEST 2: an attribute the operator does not have
--- http_config
    infer_model m $TEST_NGINX_MODELS/onnx/bad_attr.onnx;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log eval
qr{cannot load ".*/onnx/bad_attr\.onnx": node "leaky" \(LeakyRelu\): attribute "beta" is not supported}



=== TEST 3: weights in an external file
--- http_config
    infer_model m $TEST_NGINX_MODELS/onnx/external.onnx;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log eval
qr{cannot load ".*/onnx/external\.onnx": initializer "w" keeps its data in an external file: save the model with its data inside}



=== TEST 4: a truncated file
--- http_config
    infer_model m $TEST_NGINX_MODELS/onnx/truncated.onnx;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log eval
qr{cannot load ".*/onnx/truncated\.onnx": not an ONNX model: the protobuf message is truncated or malformed}



=== TEST 5: a graph with a cycle
--- http_config
    infer_model m $TEST_NGINX_MODELS/onnx/cycle.onnx;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log eval
qr{cannot load ".*/onnx/cycle\.onnx": node "first" \(Add\): the node is on a cycle of the graph}



=== TEST 6: an input nothing produces
--- http_config
    infer_model m $TEST_NGINX_MODELS/onnx/dangling.onnx;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log eval
qr{cannot load ".*/onnx/dangling\.onnx": node "add" \(Add\): input "nowhere" is produced by no node, initializer or graph input}



=== TEST 7: several graph inputs
--- http_config
    infer_model m $TEST_NGINX_MODELS/onnx/two_inputs.onnx;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log eval
qr{cannot load ".*/onnx/two_inputs\.onnx": the graph has several inputs \("x", "x2"\): one is supported}



=== TEST 8: an integer input
--- http_config
    infer_model m $TEST_NGINX_MODELS/onnx/int_input.onnx;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log eval
qr{cannot load ".*/onnx/int_input\.onnx": input "x" has data type INT64: only float inputs are supported}



=== TEST 9: an operator that would mix the rows of a batch
--- http_config
    infer_model m $TEST_NGINX_MODELS/onnx/batch_mix.onnx;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log eval
qr{cannot load ".*/onnx/batch_mix\.onnx": node "softmax" \(Softmax\): normalizes across the batch}



=== TEST 10: format=onnx on a JSON model
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json format=onnx;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log eval
qr{cannot load ".*/linear3\.json": not an ONNX model: the protobuf message is truncated or malformed}
