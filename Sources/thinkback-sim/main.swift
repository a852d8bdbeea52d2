import ThinkbackRuntime
import ThinkbackSimCore
print("thinkback-sim")
