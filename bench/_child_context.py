"""The Lambda context object the benchmarks' child interpreters pass to a handler.

Source text, pasted into each child script (the children import nothing from here).
"""

LAMBDA_CONTEXT = """
class Context:
    aws_request_id = "bench-request"
    function_name = "bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bench"
    memory_limit_in_mb = 128
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self):
        return 60000
"""
