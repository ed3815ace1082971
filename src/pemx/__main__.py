from pemx.cli import main

main()
