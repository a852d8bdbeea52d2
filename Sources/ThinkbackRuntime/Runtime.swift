import CLibEvent
import ThinkbackCore
