# Convenience targets; the scripts do the work.
.PHONY: demo test

# A TRAE-style agent straight at the simulator (refused), then through thinkback (restored).
demo:
	scripts/demo $(ARGS)

test:
	scripts/test
