"""Long PDFs in page-range parts: plan and send them (`plan`), convert one (`convert`),
put them together and finish the job (`join`).

The worker that claims the job keeps the claim; parts and the join act for it, so the
outcome is still written once, by `worker.runner.settle`, and charged once.
"""
