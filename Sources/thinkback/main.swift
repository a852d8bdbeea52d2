import ThinkbackRuntime
print("thinkback")
